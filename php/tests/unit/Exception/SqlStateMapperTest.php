<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Unit\Exception;

use Keboola\StorageDriver\Contract\Driver\Exception\NonRetryableExceptionInterface;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\SqlStateMapper;
use PDOException;
use PHPUnit\Framework\TestCase;

final class SqlStateMapperTest extends TestCase
{
    /** @return iterable<string, array{string, bool, int, bool}> */
    public function states(): iterable
    {
        yield 'table' => ['42P01', false, ErrorCode::TABLE_NOT_FOUND, false];
        yield 'schema' => ['3F000', false, ErrorCode::SCHEMA_NOT_FOUND, false];
        yield 'column' => ['42703', false, ErrorCode::COLUMN_NOT_FOUND, false];
        yield 'table exists' => ['42P07', false, ErrorCode::OBJECT_ALREADY_EXISTS, false];
        yield 'bucket exists' => ['42P06', false, ErrorCode::OBJECT_ALREADY_EXISTS, false];
        yield 'object exists' => ['42710', false, ErrorCode::OBJECT_ALREADY_EXISTS, false];
        yield 'permission' => ['42501', false, ErrorCode::PERMISSION_DENIED, false];
        yield 'bad value' => ['22P02', false, ErrorCode::VALIDATION, false];
        yield 'bad value in import' => ['22P02', true, ErrorCode::INVALID_SOURCE_DATA, false];
        yield 'bad csv in import' => ['22P04', true, ErrorCode::INVALID_SOURCE_DATA, false];
        yield 'null' => ['23502', false, ErrorCode::VALIDATION, false];
        yield 'duplicate in import' => ['23505', true, ErrorCode::INVALID_SOURCE_DATA, false];
        yield 'timeout' => ['57014', false, ErrorCode::QUERY_TIMEOUT, false];
        yield 'connection' => ['08006', false, ErrorCode::CONNECTION, true];
        yield 'session ended' => ['57P01', false, ErrorCode::CONNECTION, true];
        yield 'too many sessions' => ['53300', false, ErrorCode::CONNECTION, true];
        yield 'serialization' => ['40001', false, ErrorCode::UNKNOWN, true];
        yield 'auth' => ['28P01', false, ErrorCode::AUTHENTICATION, false];
        yield 'database' => ['3D000', false, ErrorCode::DATABASE_MISMATCH, false];
        yield 'syntax' => ['42601', false, ErrorCode::INVALID_SQL, false];
        yield 'dependent objects' => ['2BP01', false, ErrorCode::VALIDATION, false];
        yield 'other' => ['XX000', false, ErrorCode::UNKNOWN, false];
    }

    /** @dataProvider states */
    public function testMapsSqlState(string $state, bool $import, int $code, bool $retryable): void
    {
        $e = SqlStateMapper::map($state, 'boom', $import);
        self::assertSame($code, $e->getCode());
        self::assertSame($retryable, $e->isRetryable());
        self::assertSame(!$retryable, $e instanceof NonRetryableExceptionInterface);
        self::assertSame($state, $e->getSqlState());
        self::assertSame('boom', $e->getMessage());
    }

    public function testTakesTheServerMessageOutOfPdoText(): void
    {
        $pdo = new PDOException('SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation "x" does not exist');
        $pdo->errorInfo = ['42P01', 7, 'ERROR:  relation "x" does not exist'];
        $e = SqlStateMapper::fromPdo($pdo);
        self::assertSame(ErrorCode::TABLE_NOT_FOUND, $e->getCode());
        self::assertSame('relation "x" does not exist', $e->getMessage());
        self::assertSame($pdo, $e->getPrevious());
    }

    public function testTellsFailedLoginsFromConnectionFailures(): void
    {
        $auth = new PDOException('SQLSTATE[08006] [7] connection to server at "127.0.0.1", port 1 failed: '
            . 'FATAL:  password authentication failed for user "1-abc"');
        $auth->errorInfo = ['08006', 7, ''];
        self::assertSame(ErrorCode::AUTHENTICATION, SqlStateMapper::fromPdo($auth)->getCode());
        self::assertFalse(SqlStateMapper::fromPdo($auth)->isRetryable());

        $database = new PDOException('SQLSTATE[08006] [7] connection to server failed: '
            . 'FATAL:  database "nope" does not exist: project 1 has no such branch');
        self::assertSame(ErrorCode::DATABASE_MISMATCH, SqlStateMapper::fromPdo($database)->getCode());

        $refused = new PDOException('SQLSTATE[08006] [7] connection to server at "127.0.0.1", port 1 failed: '
            . 'Connection refused');
        self::assertSame(ErrorCode::CONNECTION, SqlStateMapper::fromPdo($refused)->getCode());
        self::assertTrue(SqlStateMapper::fromPdo($refused)->isRetryable());
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Info\ObjectInfoResponse;
use Keboola\StorageDriver\Command\Table\CreateTableCommand;
use Keboola\StorageDriver\Command\Table\TableColumnShared;
use Keboola\StorageDriver\Contract\Driver\Exception\ExceptionInterface;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\DuckDB\Tests\DuckstoreServer;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;
use PDO;
use RuntimeException;

/** A fresh project with one bucket per test, and the files sidecar. */
abstract class TableTestCase extends FunctionalTestCase
{
    protected const BUCKET = 'in.c-driver';

    protected GenericBackendCredentials $project;

    protected PDO $pdo;

    protected function setUp(): void
    {
        parent::setUp();
        $this->project = $this->createProject();
        $this->pdo = self::pdo($this->project);
        $this->pdo->exec('CREATE SCHEMA ' . Quote::ident(self::BUCKET));
    }

    protected static function column(string $name, string $type, string $length = '', bool $nullable = true, string $default = ''): TableColumnShared
    {
        return (new TableColumnShared())
            ->setName($name)
            ->setType($type)
            ->setLength($length)
            ->setNullable($nullable)
            ->setDefault($default);
    }

    /**
     * @param list<TableColumnShared> $columns
     * @param list<string> $primaryKey
     */
    protected function createTable(string $table, array $columns, array $primaryKey = []): ObjectInfoResponse
    {
        $response = $this->runCommand($this->project, (new CreateTableCommand())
            ->setPath([self::BUCKET])
            ->setTableName($table)
            ->setColumns($columns)
            ->setPrimaryKeysNames($primaryKey));
        return self::unpack($response, ObjectInfoResponse::class);
    }

    /** The usual test table: id INTEGER key, name STRING, amount NUMERIC(12,2). */
    protected function createOrders(string $table = 'orders'): void
    {
        $this->createTable($table, [
            self::column('id', 'INTEGER', nullable: false),
            self::column('name', 'STRING'),
            self::column('amount', 'NUMERIC', '12,2'),
        ], ['id']);
    }

    /** @return list<array<string, mixed>> */
    protected function tableRows(string $table, string $orderBy = 'id'): array
    {
        return self::rows($this->pdo, sprintf(
            'SELECT * FROM %s ORDER BY %s',
            Quote::qualified(self::BUCKET, $table),
            Quote::ident($orderBy),
        ));
    }

    /** POST /v1/files; answers the file id. */
    protected function upload(string $content, string $name = 'data.csv', ?GenericBackendCredentials $as = null): int
    {
        $response = $this->http('POST', '/v1/files?name=' . rawurlencode($name), $content, $as);
        $file = json_decode($response, true, 512, JSON_THROW_ON_ERROR);
        return (int) $file['id'];
    }

    /** GET /v1/files/{id}/content */
    protected function download(int $fileId): string
    {
        return $this->http('GET', sprintf('/v1/files/%d/content', $fileId));
    }

    private function http(string $method, string $path, ?string $body = null, ?GenericBackendCredentials $as = null): string
    {
        $token = ($as ?? $this->project)->getSecret();
        $context = stream_context_create(['http' => [
            'method' => $method,
            'header' => "Authorization: Bearer $token\r\nContent-Type: application/octet-stream\r\n",
            'content' => $body ?? '',
            'ignore_errors' => true,
        ]]);
        $url = sprintf('http://%s:%d%s', DuckstoreServer::get()->host, DuckstoreServer::get()->httpPort, $path);
        $result = file_get_contents($url, false, $context);
        /** @var list<string> $http_response_header */
        $status = (int) explode(' ', $http_response_header[0] ?? '')[1];
        if ($result === false || $status >= 300) {
            throw new RuntimeException("$method $path answered $status: " . $result);
        }
        return $result;
    }

    /** @param int|list<int> $codes */
    protected function assertDriverError(int|array $codes, callable $action): ExceptionInterface
    {
        try {
            $action();
        } catch (ExceptionInterface $e) {
            self::assertContains($e->getCode(), (array) $codes, $e->getMessage());
            return $e;
        }
        self::fail('expected a driver exception');
    }
}

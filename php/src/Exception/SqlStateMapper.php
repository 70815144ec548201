<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Exception;

use PDOException;

/** Turns duckstore's SQLSTATEs into the driver contract's error codes and retry flag. */
final class SqlStateMapper
{
    private const CODES = [
        '42P01' => ErrorCode::TABLE_NOT_FOUND,
        '3F000' => ErrorCode::SCHEMA_NOT_FOUND,
        '42703' => ErrorCode::COLUMN_NOT_FOUND,
        '42704' => ErrorCode::UNKNOWN_OBJECT,
        '42P06' => ErrorCode::OBJECT_ALREADY_EXISTS,
        '42P07' => ErrorCode::OBJECT_ALREADY_EXISTS,
        '42710' => ErrorCode::OBJECT_ALREADY_EXISTS,
        '42501' => ErrorCode::PERMISSION_DENIED,
        '57014' => ErrorCode::QUERY_TIMEOUT,
        '28P01' => ErrorCode::AUTHENTICATION,
        '28000' => ErrorCode::AUTHENTICATION,
        '3D000' => ErrorCode::DATABASE_MISMATCH,
        '42601' => ErrorCode::INVALID_SQL,
        // Dependent objects: a bucket with tables, a linked or shared bucket.
        '2BP01' => ErrorCode::VALIDATION,
    ];

    /** Bad values: the source data's fault in an import, a validation error elsewhere. */
    private const DATA_ERRORS = ['22P02', '22P04', '23502', '23505'];

    /** Refused for now, fine a moment later: serialization, a lost session, too many sessions. */
    private const RETRYABLE = ['40001', '57P01', '53300'];

    public static function fromPdo(PDOException $e, bool $importContext = false): DuckstoreException
    {
        $state = self::sqlState($e);
        return self::map($state, self::message($e), $importContext, $e);
    }

    public static function map(
        string $sqlState,
        string $message,
        bool $importContext = false,
        ?\Throwable $previous = null,
    ): DuckstoreException {
        $code = self::code($sqlState, $importContext);
        // storage-driver-common's Exception has no constructor of its own (PHP's takes message,
        // code, previous); its context is set through setContext().
        $exception = self::isRetryable($sqlState)
            ? new DuckstoreException($message, $code, $previous)
            : new NonRetryableDuckstoreException($message, $code, $previous);
        $exception->setContext(['sqlState' => $sqlState]);
        return $exception;
    }

    public static function code(string $sqlState, bool $importContext = false): int
    {
        if (in_array($sqlState, self::DATA_ERRORS, true)) {
            return $importContext ? ErrorCode::INVALID_SOURCE_DATA : ErrorCode::VALIDATION;
        }
        if (self::isConnectionClass($sqlState)) {
            return ErrorCode::CONNECTION;
        }
        return self::CODES[$sqlState] ?? ErrorCode::UNKNOWN;
    }

    public static function isRetryable(string $sqlState): bool
    {
        return self::isConnectionClass($sqlState) || in_array($sqlState, self::RETRYABLE, true);
    }

    private static function isConnectionClass(string $sqlState): bool
    {
        return str_starts_with($sqlState, '08') || $sqlState === '57P01' || $sqlState === '53300';
    }

    /**
     * libpq reports every failed connection as 08006; the server's reason is only in the text,
     * so authentication and unknown-database refusals are told apart by it.
     */
    private static function sqlState(PDOException $e): string
    {
        $state = is_array($e->errorInfo) && is_string($e->errorInfo[0] ?? null) ? $e->errorInfo[0] : '';
        if ($state === '' && preg_match('/SQLSTATE\[([0-9A-Z]{5})\]/', $e->getMessage(), $m) === 1) {
            $state = $m[1];
        }
        if ($state === '08006') {
            if (str_contains($e->getMessage(), 'password authentication failed')) {
                return '28P01';
            }
            if (preg_match('/FATAL:\s+database ".*" does not exist/', $e->getMessage()) === 1) {
                return '3D000';
            }
        }
        return $state;
    }

    /** The server's own words, without PDO's "SQLSTATE[…] …: 7 ERROR:" prefix. */
    private static function message(PDOException $e): string
    {
        $text = $e->getMessage();
        if (preg_match('/(?:ERROR|FATAL):\s+(.*)$/s', $text, $m) === 1) {
            return trim($m[1]);
        }
        return $text;
    }
}

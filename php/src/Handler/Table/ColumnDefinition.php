<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Keboola\StorageDriver\Command\Table\TableColumnShared;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;

/**
 * Turns a Keboola column definition into duckstore column SQL. Keboola's base types
 * (STRING, INTEGER, NUMERIC, FLOAT, BOOLEAN, DATE, TIMESTAMP) are duckstore types already;
 * the native types duckstore accepts pass through as well.
 */
final class ColumnDefinition
{
    private const TYPES = [
        'STRING', 'INTEGER', 'NUMERIC', 'FLOAT', 'BOOLEAN', 'DATE', 'TIMESTAMP',
        'VARCHAR', 'TEXT', 'BIGINT', 'SMALLINT', 'TINYINT', 'HUGEINT', 'DECIMAL', 'DOUBLE',
        'REAL', 'TIMESTAMPTZ', 'TIME', 'BLOB', 'BYTEA', 'UUID', 'JSON', 'INTERVAL',
    ];

    /** Types whose `length` is `precision[,scale]`; other types have no length in duckstore. */
    private const WITH_PRECISION = ['NUMERIC', 'DECIMAL'];

    /** Defaults that are expressions, not literals. */
    private const DEFAULT_EXPRESSIONS = [
        'NOW()' => 'now()',
        'CURRENT_TIMESTAMP' => 'now()',
        'CURRENT_DATE' => 'current_date',
        'GEN_RANDOM_UUID()' => 'gen_random_uuid()',
    ];

    /** `"name" TYPE [NOT NULL] [DEFAULT …]` */
    public static function sql(TableColumnShared $column): string
    {
        $sql = Quote::ident($column->getName()) . ' ' . self::type($column->getType(), $column->getLength());
        if (!$column->getNullable()) {
            $sql .= ' NOT NULL';
        }
        if ($column->getDefault() !== '') {
            $sql .= ' DEFAULT ' . self::defaultValue($column->getDefault());
        }
        return $sql;
    }

    public static function type(string $type, string $length): string
    {
        $upper = strtoupper(trim($type));
        if (!in_array($upper, self::TYPES, true)) {
            throw new NonRetryableDuckstoreException(
                sprintf('Type "%s" is not supported by duckstore.', $type),
                ErrorCode::VALIDATION,
            );
        }
        if ($length === '' || !in_array($upper, self::WITH_PRECISION, true)) {
            return $upper;
        }
        if (preg_match('/^\s*(\d{1,2})\s*(?:,\s*(\d{1,2})\s*)?$/', $length, $m) !== 1) {
            throw new NonRetryableDuckstoreException(
                sprintf('Length "%s" of type %s must be "precision[,scale]".', $length, $upper),
                ErrorCode::VALIDATION,
            );
        }
        return isset($m[2]) ? sprintf('%s(%d,%d)', $upper, $m[1], $m[2]) : sprintf('%s(%d)', $upper, $m[1]);
    }

    public static function defaultValue(string $default): string
    {
        return self::DEFAULT_EXPRESSIONS[strtoupper(trim($default))] ?? "'" . str_replace("'", "''", $default) . "'";
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Keboola\StorageDriver\Command\Info\ObjectInfoResponse;
use Keboola\StorageDriver\Command\Info\ObjectType;
use Keboola\StorageDriver\Command\Info\TableInfo;
use Keboola\StorageDriver\Command\Info\TableInfo\TableColumn;
use Keboola\StorageDriver\Command\Info\TableType;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Db;

/**
 * Builds TableInfo from duckstore's catalog views (duckstore.tables, duckstore.columns), which
 * show only what the session's token may see.
 */
final class TableInfoReader
{
    public function __construct(private readonly Db $db)
    {
    }

    public function read(string $bucket, string $table): TableInfo
    {
        $row = $this->db->one(
            'SELECT primary_key, "rows", bytes FROM duckstore.tables WHERE bucket = :bucket AND name = :name',
            ['bucket' => $bucket, 'name' => $table],
        );
        if ($row === null) {
            throw new NonRetryableDuckstoreException(
                sprintf('Table "%s" not found in bucket "%s".', $table, $bucket),
                ErrorCode::TABLE_NOT_FOUND,
            );
        }
        $columns = $this->db->query(
            'SELECT name, type, nullable, "default" FROM duckstore.columns'
            . ' WHERE bucket = :bucket AND table_name = :name ORDER BY position',
            ['bucket' => $bucket, 'name' => $table],
        );

        $info = (new TableInfo())
            ->setPath([$bucket])
            ->setTableName($table)
            ->setRowsCount((int) $row['rows'])
            ->setSizeBytes((int) $row['bytes'])
            ->setTableType(TableType::NORMAL)
            ->setPrimaryKeysNames(self::splitKey((string) ($row['primary_key'] ?? '')));
        $list = [];
        foreach ($columns as $column) {
            [$type, $length] = self::splitType((string) $column['type']);
            $list[] = (new TableColumn())
                ->setName((string) $column['name'])
                ->setType($type)
                ->setLength($length)
                ->setNullable((bool) $column['nullable'])
                ->setDefault(self::defaultValue($column['default']));
        }
        return $info->setColumns($list);
    }

    /** What CreateTable, AddColumn, AlterColumn and CreateTableFromTimeTravel answer (as BigQuery does). */
    public function response(string $bucket, string $table): ObjectInfoResponse
    {
        return (new ObjectInfoResponse())
            ->setPath([$bucket, $table])
            ->setObjectType(ObjectType::TABLE)
            ->setTableInfo($this->read($bucket, $table));
    }

    /** @return list<string> the key columns in key order; the view lists them comma-separated. */
    public static function splitKey(string $key): array
    {
        return $key === '' ? [] : explode(',', $key);
    }

    /**
     * `DECIMAL(12,2)` → [DECIMAL, 12,2]: Keboola keeps the type's parameters in `length`.
     *
     * @return array{0: string, 1: string}
     */
    public static function splitType(string $type): array
    {
        if (preg_match('/^([^(]+)\((.*)\)$/', $type, $m) === 1) {
            return [trim($m[1]), str_replace(' ', '', $m[2])];
        }
        return [$type, ''];
    }

    /** The catalog keeps a default as SQL (`'x'`); Keboola wants the value of a literal. */
    private static function defaultValue(mixed $default): string
    {
        $default = (string) ($default ?? '');
        if (preg_match("/^'(.*)'$/s", $default, $m) === 1) {
            return str_replace("''", "'", $m[1]);
        }
        return $default;
    }
}

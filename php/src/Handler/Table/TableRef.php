<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\RepeatedField;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;

/**
 * A table as the driver commands name it: path = [bucket] (exactly one element, as in the
 * BigQuery driver) plus the table name. The project comes from the credentials, never the path.
 */
final class TableRef
{
    private function __construct(
        public readonly string $bucket,
        public readonly string $table,
    ) {
    }

    /** @param RepeatedField|string[] $path */
    public static function fromPath(RepeatedField|array $path, string $table): self
    {
        $parts = self::toArray($path);
        // A real check, not assert(): assertions are off in production PHP.
        if (count($parts) !== 1 || $parts[0] === '') {
            throw new NonRetryableDuckstoreException(
                sprintf('A table path must be [bucket]; got %d elements.', count($parts)),
                ErrorCode::VALIDATION,
            );
        }
        if ($table === '') {
            throw new NonRetryableDuckstoreException('The table name is missing.', ErrorCode::VALIDATION);
        }
        return new self($parts[0], $table);
    }

    /**
     * @param RepeatedField|string[] $path
     * @return list<string>
     */
    public static function toArray(RepeatedField|array $path): array
    {
        $parts = [];
        foreach ($path as $part) {
            $parts[] = (string) $part;
        }
        return $parts;
    }

    /** The `bucket.table` id the procedures and duckstore.tables use. */
    public function id(): string
    {
        return $this->bucket . '.' . $this->table;
    }

    /** `"bucket"."table"` for SQL statements. */
    public function sql(): string
    {
        return Quote::qualified($this->bucket, $this->table);
    }
}

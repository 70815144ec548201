<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Sql;

final class Quote
{
    /** A double-quoted SQL identifier; duckstore validates the name itself as well. */
    public static function ident(string $name): string
    {
        return '"' . str_replace('"', '""', $name) . '"';
    }

    /** "schema"."table" */
    public static function qualified(string ...$parts): string
    {
        return implode('.', array_map(self::ident(...), $parts));
    }
}

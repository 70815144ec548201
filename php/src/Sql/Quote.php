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

    /**
     * A string literal, for the one place values cannot be bound: a view's stored query.
     * duckstore parses the statement and stores it re-rendered, so a value can only be a value.
     */
    public static function literal(string $value): string
    {
        if (str_contains($value, "\0")) {
            throw new \InvalidArgumentException('A string value cannot contain a NUL byte.');
        }
        return "'" . str_replace("'", "''", $value) . "'";
    }

    /** "schema"."table" */
    public static function qualified(string ...$parts): string
    {
        return implode('.', array_map(self::ident(...), $parts));
    }
}

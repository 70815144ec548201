<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

/**
 * Keboola sends changeSince/changeUntil as Unix seconds in a string; duckstore's procedures take
 * a timestamp (or an interval back from now), so digits become an ISO-8601 UTC instant.
 */
final class ChangeWindow
{
    public static function toTimestamp(string $value): ?string
    {
        $value = trim($value);
        if ($value === '') {
            return null;
        }
        if (preg_match('/^\d+$/', $value) === 1) {
            return self::fromSeconds((int) $value);
        }
        return $value;
    }

    public static function fromSeconds(int $seconds): string
    {
        return gmdate('Y-m-d\TH:i:s\Z', $seconds);
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Sql;

/** Names the driver derives from Keboola's ids. */
final class Naming
{
    /**
     * duckstore refuses all-digit branch names (a number in dbname means a branch id), and
     * Keboola's branch ids are numbers, so the branch is named "branch-<branchId>".
     */
    public static function branchName(string $branchId): string
    {
        return 'branch-' . $branchId;
    }

    /** The project id is the part of "{project}-{token_id}" before the first dash. */
    public static function projectIdOfUser(string $userName): ?int
    {
        if (preg_match('/^(\d+)-/', $userName, $m) !== 1) {
            return null;
        }
        return (int) $m[1];
    }

    /** Keboola's workspace id becomes the duckstore workspace name. */
    public static function workspaceName(string $workspaceId): string
    {
        return 'WORKSPACE_' . $workspaceId;
    }
}

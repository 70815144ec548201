<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Db;

/**
 * duckstore's workspace procedures take the numeric id; Keboola's commands name a workspace by
 * its object name (the duckstore name) or its user name (ws_<id>).
 */
final class WorkspaceLookup
{
    public static function find(Db $db, string $nameOrUser): ?int
    {
        $row = $db->one(
            'SELECT id FROM duckstore.workspaces WHERE name = :n OR user_name = :n ORDER BY id LIMIT 1',
            ['n' => $nameOrUser],
        );
        return $row === null ? null : (int) $row['id'];
    }

    public static function get(Db $db, string $nameOrUser): int
    {
        return self::find($db, $nameOrUser) ?? throw new NonRetryableDuckstoreException(
            sprintf('Workspace "%s" does not exist.', $nameOrUser),
            ErrorCode::OBJECT_NOT_FOUND,
        );
    }
}

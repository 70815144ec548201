<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Project;

/**
 * duckstore has token scopes, not roles; Connection still stores role names, so these name
 * the scope a project's credentials carry.
 */
final class ProjectRoles
{
    public static function admin(string $projectId): string
    {
        return $projectId . '/project_admin';
    }

    public static function readOnly(string $projectId): string
    {
        return $projectId . '/branch_read';
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Backend\InitBackendCommand;
use Keboola\StorageDriver\Command\Backend\RemoveBackendCommand;
use Keboola\StorageDriver\Command\Bucket\CreateBucketCommand;
use Keboola\StorageDriver\Command\Bucket\DropBucketCommand;
use Keboola\StorageDriver\Command\Bucket\GrantBucketAccessToReadOnlyRoleCommand;
use Keboola\StorageDriver\Command\Bucket\LinkBucketCommand;
use Keboola\StorageDriver\Command\Bucket\RevokeBucketAccessFromReadOnlyRoleCommand;
use Keboola\StorageDriver\Command\Bucket\ShareBucketCommand;
use Keboola\StorageDriver\Command\Bucket\UnlinkBucketCommand;
use Keboola\StorageDriver\Command\Bucket\UnshareBucketCommand;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryCommand;
use Keboola\StorageDriver\Command\Info\ListSchemasCommand;
use Keboola\StorageDriver\Command\Info\ObjectInfoCommand;
use Keboola\StorageDriver\Command\Project\CreateDevBranchCommand;
use Keboola\StorageDriver\Command\Project\CreateProjectCommand;
use Keboola\StorageDriver\Command\Project\DropDevBranchCommand;
use Keboola\StorageDriver\Command\Project\DropProjectCommand;
use Keboola\StorageDriver\Command\Project\UpdateProjectCommand;
use Keboola\StorageDriver\Command\Table\AddColumnCommand;
use Keboola\StorageDriver\Command\Table\AddPrimaryKeyCommand;
use Keboola\StorageDriver\Command\Table\AlterColumnCommand;
use Keboola\StorageDriver\Command\Table\CreateProfileTableCommand;
use Keboola\StorageDriver\Command\Table\CreateTableCommand;
use Keboola\StorageDriver\Command\Table\CreateTableFromTimeTravelCommand;
use Keboola\StorageDriver\Command\Table\CreateViewCommand;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsCommand;
use Keboola\StorageDriver\Command\Table\DropColumnCommand;
use Keboola\StorageDriver\Command\Table\DropPrimaryKeyCommand;
use Keboola\StorageDriver\Command\Table\DropTableCommand;
use Keboola\StorageDriver\Command\Table\PreviewTableCommand;
use Keboola\StorageDriver\Command\Table\TableExportToFileCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand;
use Keboola\StorageDriver\Command\Workspace\ClearWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceUserCommand;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceObjectCommand;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceUserCommand;
use Keboola\StorageDriver\Command\Workspace\LoadTableToWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\ResetWorkspacePasswordCommand;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

/** One handler per command. Commands duckstore cannot honour are refused, never faked. */
final class HandlerFactory
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
    }

    public function create(Message $command): BaseHandler
    {
        $c = $this->connections;
        return match ($command::class) {
            InitBackendCommand::class => new Backend\InitBackendHandler($c),
            RemoveBackendCommand::class => new Backend\RemoveBackendHandler(),
            CreateProjectCommand::class => new Project\CreateProjectHandler($c),
            UpdateProjectCommand::class => new Project\UpdateProjectHandler(),
            DropProjectCommand::class => new Project\DropProjectHandler($c),
            CreateDevBranchCommand::class => new Project\CreateDevBranchHandler($c),
            DropDevBranchCommand::class => new Project\DropDevBranchHandler($c),
            CreateBucketCommand::class => new Bucket\CreateBucketHandler($c),
            DropBucketCommand::class => new Bucket\DropBucketHandler($c),
            ShareBucketCommand::class => new Bucket\ShareBucketHandler($c),
            UnshareBucketCommand::class => new Bucket\UnshareBucketHandler($c),
            LinkBucketCommand::class => new Bucket\LinkBucketHandler($c),
            UnlinkBucketCommand::class => new Bucket\UnlinkBucketHandler($c),
            GrantBucketAccessToReadOnlyRoleCommand::class => new Bucket\GrantBucketAccessToReadOnlyRoleHandler($c),
            RevokeBucketAccessFromReadOnlyRoleCommand::class => new Bucket\RevokeBucketAccessFromReadOnlyRoleHandler($c),
            CreateWorkspaceCommand::class => new Workspace\CreateWorkspaceHandler($c),
            DropWorkspaceCommand::class => new Workspace\DropWorkspaceHandler($c),
            ClearWorkspaceCommand::class => new Workspace\ClearWorkspaceHandler($c),
            ResetWorkspacePasswordCommand::class => new Workspace\ResetWorkspacePasswordHandler($c),
            DropWorkspaceObjectCommand::class => new Workspace\DropWorkspaceObjectHandler($c),
            LoadTableToWorkspaceCommand::class => new Workspace\LoadTableToWorkspaceHandler($c),
            CreateWorkspaceUserCommand::class => new Workspace\CreateWorkspaceUserHandler($c),
            DropWorkspaceUserCommand::class => new Workspace\DropWorkspaceUserHandler($c),
            ExecuteQueryCommand::class => new ExecuteQuery\ExecuteQueryHandler($c),
            // Table and info commands (part B; see NOTES-B.md).
            CreateTableCommand::class => new Table\CreateTableHandler($c),
            DropTableCommand::class => new Table\DropTableHandler($c),
            AddColumnCommand::class => new Table\AddColumnHandler($c),
            AlterColumnCommand::class => new Table\AlterColumnHandler($c),
            DropColumnCommand::class => new Table\DropColumnHandler($c),
            AddPrimaryKeyCommand::class => new Table\AddPrimaryKeyHandler($c),
            DropPrimaryKeyCommand::class => new Table\DropPrimaryKeyHandler($c),
            DeleteTableRowsCommand::class => new Table\DeleteTableRowsHandler($c),
            TableImportFromFileCommand::class => new Table\TableImportFromFileHandler($c),
            TableImportFromTableCommand::class => new Table\TableImportFromTableHandler($c),
            TableExportToFileCommand::class => new Table\TableExportToFileHandler($c),
            PreviewTableCommand::class => new Table\PreviewTableHandler($c),
            CreateProfileTableCommand::class => new Table\CreateProfileTableHandler($c),
            CreateTableFromTimeTravelCommand::class => new Table\CreateTableFromTimeTravelHandler($c),
            CreateViewCommand::class => new Table\CreateViewHandler($c),
            ObjectInfoCommand::class => new Info\ObjectInfoHandler($c),
            ListSchemasCommand::class => new Info\ListSchemasHandler($c),
            // Not supported (default): Grant/RevokeWorkspaceAccessToProject (no cross-login grants in duckstore), the
            // BigQuery external-bucket commands.
            default => throw new CommandNotSupportedException($command::class),
        };
    }
}

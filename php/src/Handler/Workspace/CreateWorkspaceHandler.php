<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Sql\Naming;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * A duckstore workspace of the command's branch, named WORKSPACE_<workspaceId>. Its login
 * (ws_<id>) is user and role; the name is the object name (and a valid dbname for it).
 */
final class CreateWorkspaceHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateWorkspaceCommand);
        assert($command->getWorkspaceId() !== '', 'workspaceId is required');
        if (count($command->getDirectGrantTables()) > 0) {
            $this->userLogger->warning('Direct grants of tables are not used: load tables into the workspace.');
        }
        $database = $command->getBranchId() !== '' && !$command->getIsBranchDefault()
            ? Naming::branchName($command->getBranchId())
            : null;
        $row = $this->connections->db($credentials, $database)->call('create_workspace', [
            'name' => Naming::workspaceName($command->getWorkspaceId()),
            'read_only_storage' => in_array('input-mapping-read-only-storage', $features, true),
        ])[0];
        return (new CreateWorkspaceResponse())
            ->setWorkspaceUserName((string) $row['user'])
            ->setWorkspaceRoleName((string) $row['user'])
            ->setWorkspacePassword((string) $row['password'])
            ->setWorkspaceObjectName((string) $row['name']);
    }
}

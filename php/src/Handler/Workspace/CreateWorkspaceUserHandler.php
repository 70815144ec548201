<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceUserCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceUserResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** A further login of a workspace (`ws_<id>_<n>`) with its own password. */
final class CreateWorkspaceUserHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateWorkspaceUserCommand);
        $db = $this->connections->db($credentials);
        $row = $db->call('create_workspace_user', [
            'workspace' => WorkspaceLookup::get($db, $command->getWorkspaceObjectName()),
        ])[0];
        return (new CreateWorkspaceUserResponse())
            ->setWorkspaceUserName((string) $row['user'])
            ->setWorkspacePassword((string) $row['password']);
    }
}

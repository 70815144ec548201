<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceUserCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** Drops a login made by CreateWorkspaceUser; its sessions end. */
final class DropWorkspaceUserHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropWorkspaceUserCommand);
        $this->connections->db($credentials)->call('drop_workspace_user', ['user' => $command->getWorkspaceUserName()]);
        return null;
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** Drops the workspace with its objects and sessions; one already gone is a warning. */
final class DropWorkspaceHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropWorkspaceCommand);
        $db = $this->connections->db($credentials);
        $name = $command->getWorkspaceObjectName() !== ''
            ? $command->getWorkspaceObjectName()
            : $command->getWorkspaceUserName();
        $id = WorkspaceLookup::find($db, $name);
        if ($id === null) {
            $this->userLogger->warning(sprintf('Workspace "%s" does not exist; nothing to drop.', $name));
            return null;
        }
        $db->call('drop_workspace', ['id' => $id]);
        return null;
    }
}

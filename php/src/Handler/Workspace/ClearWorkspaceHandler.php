<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Workspace\ClearWorkspaceCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** Drops every workspace object except objectsToPreserve. */
final class ClearWorkspaceHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof ClearWorkspaceCommand);
        $db = $this->connections->db($credentials);
        $preserve = iterator_to_array($command->getObjectsToPreserve());
        $db->call('clear_workspace', [
            'workspace' => WorkspaceLookup::get($db, $command->getWorkspaceObjectName()),
            'preserve' => $preserve === [] ? null : implode(',', $preserve),
        ]);
        return null;
    }
}

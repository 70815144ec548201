<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceObjectCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use PDOException;

final class DropWorkspaceObjectHandler extends BaseHandler
{
    private const UNDEFINED_TABLE = '42P01';

    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropWorkspaceObjectCommand);
        $db = $this->connections->db($credentials);
        $workspace = WorkspaceLookup::get($db, $command->getWorkspaceObjectName());
        try {
            $db->call('drop_workspace_object', [
                'workspace' => $workspace,
                'object' => $command->getObjectNameToDrop(),
            ]);
        } catch (PDOException $e) {
            $missing = ($e->errorInfo[0] ?? null) === self::UNDEFINED_TABLE;
            if (!$missing || !$command->getIgnoreIfNotExists()) {
                throw $e;
            }
        }
        return null;
    }
}

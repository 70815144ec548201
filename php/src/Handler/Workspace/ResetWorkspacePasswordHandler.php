<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Workspace\ResetWorkspacePasswordCommand;
use Keboola\StorageDriver\Command\Workspace\ResetWorkspacePasswordResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** A new password; the old one stops working and open workspace sessions end. */
final class ResetWorkspacePasswordHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof ResetWorkspacePasswordCommand);
        $db = $this->connections->db($credentials);
        $row = $db->call('reset_workspace_password', [
            'id' => WorkspaceLookup::get($db, $command->getWorkspaceUserName()),
        ])[0];
        return (new ResetWorkspacePasswordResponse())
            ->setWorkspaceUserName((string) $row['user'])
            ->setWorkspacePassword((string) $row['password']);
    }
}

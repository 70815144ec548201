<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Project;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Project\DropDevBranchCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** Drops the branch CreateDevBranch named; a branch already gone is a warning, not an error. */
final class DropDevBranchHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropDevBranchCommand);
        $name = $command->getDevBranchReadOnlyRoleName();
        $db = $this->connections->db($credentials, ConnectionFactory::DEFAULT_DATABASE);
        $branch = $db->one(
            'SELECT id FROM duckstore.branches WHERE name = :name AND NOT is_default',
            ['name' => $name],
        );
        if ($branch === null) {
            $this->userLogger->warning(sprintf('Dev branch "%s" does not exist; nothing to drop.', $name));
            return null;
        }
        $db->call('drop_branch', ['id' => (int) $branch['id']]);
        return null;
    }
}

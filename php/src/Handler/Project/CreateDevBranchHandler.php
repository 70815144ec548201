<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Project;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Project\CreateDevBranchCommand;
use Keboola\StorageDriver\Command\Project\CreateDevBranchResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Sql\Naming;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * A duckstore dev branch named after Keboola's branch id. The answer's role name is the branch
 * name: it is all DropDevBranch receives, and it is the dbname to open the branch with.
 */
final class CreateDevBranchHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateDevBranchCommand);
        assert($command->getBranchId() !== '', 'branchId is required');
        $name = Naming::branchName($command->getBranchId());
        $this->connections->db($credentials, ConnectionFactory::DEFAULT_DATABASE)
            ->call('create_branch', ['name' => $name]);
        return (new CreateDevBranchResponse())->setDevBranchReadOnlyRoleName($name);
    }
}

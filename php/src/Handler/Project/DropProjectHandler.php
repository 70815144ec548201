<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Project;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Project\DropProjectCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Naming;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** As the admin: drops the project named by its user name "{project}-{token_id}". */
final class DropProjectHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropProjectCommand);
        $projectId = Naming::projectIdOfUser($command->getProjectUserName());
        if ($projectId === null) {
            throw new NonRetryableDuckstoreException(
                sprintf('"%s" is not a duckstore project user name.', $command->getProjectUserName()),
                ErrorCode::VALIDATION,
            );
        }
        $this->connections->db($credentials)->call('drop_project', ['id' => $projectId]);
        return null;
    }
}

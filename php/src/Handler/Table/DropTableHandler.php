<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\DropTableCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** DROP TABLE; duckstore snapshots it first by default, so restore_snapshot can bring it back. */
final class DropTableHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropTableCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());

        // The deprecated ignoreErrors still means "a missing table is fine".
        $ifExists = $command->getIgnoreErrors() ? 'IF EXISTS ' : '';
        $this->connections->db($credentials)->exec(sprintf('DROP TABLE %s%s', $ifExists, $ref->sql()));
        return null;
    }
}

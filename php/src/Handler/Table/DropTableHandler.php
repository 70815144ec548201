<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\DropTableCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * DROP TABLE (duckstore snapshots it first by default, so restore_snapshot can bring it back),
 * or DROP VIEW when the name is a view's.
 */
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
        $db = $this->connections->db($credentials);
        // Connection drops a view (CreateView) with this command too, as BigQuery deletes either.
        $isView = $db->one(
            'SELECT 1 AS found FROM duckstore.views WHERE bucket = :bucket AND name = :name',
            ['bucket' => $ref->bucket, 'name' => $ref->table],
        ) !== null;
        $db->exec(sprintf('DROP %s %s%s', $isView ? 'VIEW' : 'TABLE', $ifExists, $ref->sql()));
        return null;
    }
}

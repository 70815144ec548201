<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\CreateTableFromTimeTravelCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * CALL create_table_at: a new table from the source's state at the timestamp (Unix seconds).
 * duckstore refuses (55000) an instant its time-travel history does not hold exactly.
 */
final class CreateTableFromTimeTravelHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateTableFromTimeTravelCommand);
        $source = $command->getSource();
        $destination = $command->getDestination();
        if ($source === null || $destination === null) {
            throw new NonRetryableDuckstoreException('Source and destination are required.', ErrorCode::VALIDATION);
        }
        $from = TableRef::fromPath($source->getPath(), $source->getTableName());
        $to = TableRef::fromPath($destination->getPath(), $destination->getTableName());
        if ($command->getTimestamp() <= 0) {
            throw new NonRetryableDuckstoreException('The timestamp (Unix seconds) is required.', ErrorCode::VALIDATION);
        }

        $db = $this->connections->db($credentials);
        $db->call('create_table_at', [
            'source' => $from->id(),
            'at' => ChangeWindow::fromSeconds($command->getTimestamp()),
            'bucket' => $to->bucket,
            'name' => $to->table,
        ]);
        return (new TableInfoReader($db))->response($to->bucket, $to->table);
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\AddColumnCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** ALTER TABLE … ADD COLUMN; answers ObjectInfoResponse (TABLE). */
final class AddColumnHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof AddColumnCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());
        $column = $command->getColumnDefinition();
        if ($column === null || $column->getName() === '') {
            throw new NonRetryableDuckstoreException('The column definition is missing.', ErrorCode::VALIDATION);
        }

        $db = $this->connections->db($credentials);
        $db->exec(sprintf('ALTER TABLE %s ADD COLUMN %s', $ref->sql(), ColumnDefinition::sql($column)));
        return (new TableInfoReader($db))->response($ref->bucket, $ref->table);
    }
}

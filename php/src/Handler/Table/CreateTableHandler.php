<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\CreateTableCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** CREATE TABLE; answers ObjectInfoResponse (TABLE) as the BigQuery driver does. */
final class CreateTableHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateTableCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());

        $definitions = [];
        foreach ($command->getColumns() as $column) {
            $definitions[] = ColumnDefinition::sql($column);
        }
        if ($definitions === []) {
            throw new NonRetryableDuckstoreException('A table needs at least one column.', ErrorCode::VALIDATION);
        }
        $key = TableRef::toArray($command->getPrimaryKeysNames());
        if ($key !== []) {
            $definitions[] = sprintf('PRIMARY KEY (%s)', implode(', ', array_map(Quote::ident(...), $key)));
        }
        if ($command->getMeta() !== null && $command->getMeta()->getTypeUrl() !== '') {
            // Partitioning and clustering metas are other backends'; duckstore has no equivalent.
            $this->userLogger->warning('Backend-specific table options were ignored: duckstore has none.');
        }

        $db = $this->connections->db($credentials);
        $db->exec(sprintf('CREATE TABLE %s (%s)', $ref->sql(), implode(', ', $definitions)));
        return (new TableInfoReader($db))->response($ref->bucket, $ref->table);
    }
}

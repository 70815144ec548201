<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsCommand;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

/**
 * CALL delete_rows. Keboola's command without any filter deletes every row, which duckstore
 * takes only with all => true.
 */
final class DeleteTableRowsHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DeleteTableRowsCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());
        if (count($command->getWhereRefTableFilters()) > 0) {
            // "column IN (SELECT … FROM another table)" has no delete_rows equivalent yet.
            throw new CommandNotSupportedException('DeleteTableRowsCommand with whereRefTableFilters');
        }

        $where = WhereFilters::toJson($command->getWhereFilters());
        $since = ChangeWindow::toTimestamp($command->getChangeSince());
        $until = ChangeWindow::toTimestamp($command->getChangeUntil());
        $db = $this->connections->db($credentials);
        $row = $db->call('delete_rows', [
            'table' => $ref->id(),
            'where' => $where,
            'changed_since' => $since,
            'changed_until' => $until,
            'all' => $where === null && $since === null && $until === null ? true : null,
        ])[0];

        return (new DeleteTableRowsResponse())
            ->setDeletedRowsCount((int) $row['deleted_rows'])
            ->setTableRowsCount((int) $row['table_rows'])
            ->setTableSizeBytes((int) $row['table_bytes']);
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsCommand;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsCommand\WhereRefTableFilter\Operator;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

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
        $where = WhereFilters::toJson($command->getWhereFilters());
        $refFilters = self::refFilters($command);
        $since = ChangeWindow::toTimestamp($command->getChangeSince());
        $until = ChangeWindow::toTimestamp($command->getChangeUntil());
        $db = $this->connections->db($credentials);
        $row = $db->call('delete_rows', [
            'table' => $ref->id(),
            'where' => $where,
            'changed_since' => $since,
            'changed_until' => $until,
            'ref_filters' => $refFilters,
            'all' => $where === null && $refFilters === null && $since === null && $until === null ? true : null,
        ])[0];

        return (new DeleteTableRowsResponse())
            ->setDeletedRowsCount((int) $row['deleted_rows'])
            ->setTableRowsCount((int) $row['table_rows'])
            ->setTableSizeBytes((int) $row['table_bytes']);
    }

    /** whereRefTableFilters as delete_rows' `ref_filters` JSON (the other table read as this session), or null. */
    private static function refFilters(DeleteTableRowsCommand $command): ?string
    {
        $out = [];
        foreach ($command->getWhereRefTableFilters() as $filter) {
            $other = TableRef::fromPath($filter->getRefPath(), $filter->getRefTable());
            if ($filter->getColumn() === '' || $filter->getRefColumn() === '') {
                throw new NonRetryableDuckstoreException('A reference filter must name both columns.', ErrorCode::VALIDATION);
            }
            $out[] = [
                'column' => $filter->getColumn(),
                'operator' => $filter->getOperator() === Operator::NOT_IN ? 'not_in' : 'in',
                'table' => $other->id(),
                'ref_column' => $filter->getRefColumn(),
            ];
        }
        return $out === [] ? null : json_encode($out, JSON_THROW_ON_ERROR);
    }
}

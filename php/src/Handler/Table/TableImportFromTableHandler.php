<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand;
use Keboola\StorageDriver\Command\Table\TableImportResponse;
use Keboola\StorageDriver\Command\Table\TableImportResponse\Timer;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

/**
 * Copies rows between two tables of the project. Incremental loads are one
 * `INSERT INTO … SELECT` (one atomic write in duckstore), upserting on the destination's key as
 * the dedup type says. A full load would need "replace the rows" in one step, which SQL alone
 * cannot do atomically here (DELETE then INSERT is two writes), so it is refused until duckstore
 * has a procedure for it.
 */
final class TableImportFromTableHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof TableImportFromTableCommand);
        $source = $command->getSource();
        $destination = $command->getDestination();
        if ($source === null || $destination === null) {
            throw new NonRetryableDuckstoreException('Source and destination are required.', ErrorCode::VALIDATION);
        }
        $from = TableRef::fromPath($source->getPath(), $source->getTableName());
        $to = TableRef::fromPath($destination->getPath(), $destination->getTableName());
        $options = $command->getImportOptions() ?? new ImportOptions();
        ImportOptionsMapper::checkTimestamp($options);
        if (!ImportOptionsMapper::incremental($options)) {
            throw new CommandNotSupportedException('TableImportFromTableCommand with importType FULL');
        }
        if ($source->getSeconds() > 0) {
            // The filter compares the hidden _timestamp, which SELECT cannot reach in duckstore.
            throw new CommandNotSupportedException('TableImportFromTableCommand with seconds');
        }
        if ($source->getLimit() < 0) {
            throw new NonRetryableDuckstoreException('The limit must not be negative.', ErrorCode::VALIDATION);
        }

        $db = $this->connections->db($credentials);
        $reader = new TableInfoReader($db);
        $target = $reader->read($to->bucket, $to->table);
        $dedup = ImportOptionsMapper::dedup($options, $target);
        [$sourceColumns, $destinationColumns] = $this->columns($command, $reader, $from);

        [$where, $params] = WhereFilters::toSql($source->getWhereFilters());
        $sql = sprintf(
            'INSERT INTO %s (%s) SELECT %s FROM %s%s%s%s',
            $to->sql(),
            implode(', ', array_map(Quote::ident(...), $destinationColumns)),
            implode(', ', array_map(Quote::ident(...), $sourceColumns)),
            $from->sql(),
            $where === '' ? '' : ' WHERE ' . $where,
            $source->getLimit() > 0 ? sprintf(' LIMIT %d', $source->getLimit()) : '',
            self::onConflict(TableRef::toArray($target->getPrimaryKeysNames()), $destinationColumns, $dedup),
        );

        $started = microtime(true);
        $statement = $db->pdo()->prepare($sql);
        $statement->execute($params);
        $imported = $statement->rowCount();
        $seconds = microtime(true) - $started;

        $after = $reader->read($to->bucket, $to->table);
        return (new TableImportResponse())
            ->setImportedRowsCount($imported)
            ->setTableRowsCount($after->getRowsCount())
            ->setTableSizeBytes($after->getSizeBytes())
            ->setImportedColumns($destinationColumns)
            ->setTimers([(new Timer())->setName('insert_select')->setDuration(sprintf('%.6f', $seconds))]);
    }

    /**
     * Source and destination column names, pairwise: the mappings, or every source column
     * under its own name.
     *
     * @return array{0: list<string>, 1: list<string>}
     */
    private function columns(TableImportFromTableCommand $command, TableInfoReader $reader, TableRef $from): array
    {
        $sourceColumns = [];
        $destinationColumns = [];
        foreach ($command->getSource()?->getColumnMappings() ?? [] as $mapping) {
            $sourceColumns[] = $mapping->getSourceColumnName();
            $destinationColumns[] = $mapping->getDestinationColumnName();
        }
        if ($sourceColumns === []) {
            foreach ($reader->read($from->bucket, $from->table)->getColumns() as $column) {
                $sourceColumns[] = $column->getName();
            }
            $destinationColumns = $sourceColumns;
        }
        return [$sourceColumns, $destinationColumns];
    }

    /**
     * Keboola's dedup on the destination's key: update (the new row wins), insert (the existing
     * row stays), fail (a plain INSERT: duckstore answers 23505 and keeps the table as it was).
     *
     * @param list<string> $key
     * @param list<string> $columns
     */
    private static function onConflict(array $key, array $columns, string $dedup): string
    {
        if ($key === [] || $dedup === 'fail') {
            return '';
        }
        $target = implode(', ', array_map(Quote::ident(...), $key));
        $updates = [];
        foreach (array_diff($columns, $key) as $column) {
            $updates[] = sprintf('%1$s = EXCLUDED.%1$s', Quote::ident($column));
        }
        if ($dedup === 'insert' || $updates === []) {
            return sprintf(' ON CONFLICT (%s) DO NOTHING', $target);
        }
        return sprintf(' ON CONFLICT (%s) DO UPDATE SET %s', $target, implode(', ', $updates));
    }
}

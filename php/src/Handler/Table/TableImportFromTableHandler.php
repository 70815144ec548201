<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Info\TableInfo;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand\SourceTableMapping;
use Keboola\StorageDriver\Command\Table\TableImportResponse;
use Keboola\StorageDriver\Command\Table\TableImportResponse\Timer;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * CALL import_table_from_table: one atomic table-to-table load with import_table's semantics.
 * A full load replaces the destination's rows in one step, an incremental one appends or
 * upserts on the destination's key as the dedup type says; the destination is created when
 * missing. Source and destination are tables of the session's branch (a linked bucket may be
 * the source); another project's bucket is invisible, so naming it is an error.
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
        $incremental = ImportOptionsMapper::incremental($options);
        if ($source->getLimit() < 0) {
            throw new NonRetryableDuckstoreException('The limit must not be negative.', ErrorCode::VALIDATION);
        }
        if ($source->getSeconds() < 0) {
            throw new NonRetryableDuckstoreException('seconds must not be negative.', ErrorCode::VALIDATION);
        }
        [$sourceColumns, $destinationColumns] = self::mappings($source);

        $db = $this->connections->db($credentials);
        $reader = new TableInfoReader($db);
        // The destination may not exist yet (the procedure creates it): then it has no key, and
        // dedup columns, if any, cannot match one.
        $target = $this->existing($reader, $to) ?? new TableInfo();
        $dedup = ImportOptionsMapper::dedup($options, $target);

        $pairs = [];
        foreach ($sourceColumns as $i => $column) {
            $pairs[] = $column . ':' . $destinationColumns[$i];
        }
        $row = $db->call('import_table_from_table', [
            'table' => $to->id(),
            'source' => $from->id(),
            'columns' => $pairs === [] ? null : implode(',', $pairs),
            'where' => WhereFilters::toJson($source->getWhereFilters()),
            'limit' => $source->getLimit() > 0 ? (int) $source->getLimit() : null,
            // changes within the last N seconds: an interval back from now
            'changed_since' => $source->getSeconds() > 0 ? sprintf('%d seconds', $source->getSeconds()) : null,
            'incremental' => $incremental,
            'dedup' => $dedup,
            'keep_timestamps' => ImportOptionsMapper::keepTimestamps($options),
        ])[0];

        if ($destinationColumns === []) {
            // Without mappings every source column is loaded under its own name.
            foreach ($reader->read($from->bucket, $from->table)->getColumns() as $column) {
                $destinationColumns[] = $column->getName();
            }
        }
        return (new TableImportResponse())
            ->setImportedRowsCount((int) $row['imported_rows'])
            ->setTableRowsCount((int) $row['table_rows'])
            ->setTableSizeBytes((int) $row['table_bytes'])
            ->setImportedColumns($destinationColumns)
            ->setTimers([(new Timer())->setName('import_table_from_table')->setDuration((string) $row['seconds'])]);
    }

    private function existing(TableInfoReader $reader, TableRef $table): ?TableInfo
    {
        try {
            return $reader->read($table->bucket, $table->table);
        } catch (NonRetryableDuckstoreException $e) {
            if ($e->getCode() === ErrorCode::TABLE_NOT_FOUND) {
                return null;
            }
            throw $e;
        }
    }

    /**
     * Source and destination column names, pairwise (a missing destination name keeps the
     * source's); both empty without mappings.
     *
     * @return array{0: list<string>, 1: list<string>}
     */
    private static function mappings(SourceTableMapping $source): array
    {
        $sourceColumns = [];
        $destinationColumns = [];
        foreach ($source->getColumnMappings() as $mapping) {
            $from = $mapping->getSourceColumnName();
            $to = $mapping->getDestinationColumnName() === '' ? $from : $mapping->getDestinationColumnName();
            if ($from === '' || str_contains($from . $to, ',') || str_contains($from . $to, ':')) {
                // The procedure's list is 'src:dst,…': a name holding ':' or ',' cannot be said in it.
                throw new NonRetryableDuckstoreException(
                    sprintf('Column mapping "%s" → "%s" cannot be passed to duckstore.', $from, $to),
                    ErrorCode::VALIDATION,
                );
            }
            $sourceColumns[] = $from;
            $destinationColumns[] = $to;
        }
        return [$sourceColumns, $destinationColumns];
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Workspace;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\ImportType;
use Keboola\StorageDriver\Command\Table\TableImportResponse;
use Keboola\StorageDriver\Command\Table\TableImportResponse\Timer;
use Keboola\StorageDriver\Command\Workspace\LoadTableToWorkspaceCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Handler\Table\WhereFilters;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * Input mapping: load_workspace copies a storage table (columns, renamed by columnMappings,
 * filters, limit) into the workspace, replacing the destination (FULL) or appending to it by
 * column name (INCREMENTAL). Source path = [bucket], destination path = [workspace].
 */
final class LoadTableToWorkspaceHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof LoadTableToWorkspaceCommand);
        $source = $command->getSource();
        $destination = $command->getDestination();
        assert($source !== null && count($source->getPath()) === 1, 'source path must be [bucket]');
        assert($destination !== null && count($destination->getPath()) === 1, 'destination path must be [workspace]');
        $options = $command->getImportOptions();
        $incremental = match ($options?->getImportType() ?? ImportType::FULL) {
            ImportType::FULL => false,
            ImportType::INCREMENTAL => true,
            default => throw self::unsupported('A workspace load is FULL (replaces the table) or INCREMENTAL (appends).'),
        };

        [$columns, $pairs] = $this->columns($command);
        $started = microtime(true);
        $db = $this->connections->db($credentials);
        $row = $db->call('load_workspace', [
            'workspace' => WorkspaceLookup::get($db, $destination->getPath()[0]),
            'source' => $source->getPath()[0] . '.' . $source->getTableName(),
            'destination' => $destination->getTableName(),
            'columns' => $pairs === [] ? null : implode(',', $pairs),
            'incremental' => $incremental,
            'where' => WhereFilters::toJson($source->getWhereFilters()),
            'limit' => $source->getLimit() > 0 ? (int) $source->getLimit() : null,
        ])[0];

        $rows = (int) $row['rows'];
        return (new TableImportResponse())
            ->setImportedRowsCount($rows)
            ->setTableRowsCount($rows)
            ->setImportedColumns($columns)
            ->setTimers([(new Timer())->setName('load')->setDuration(sprintf('%.3f', microtime(true) - $started))]);
    }

    /**
     * The workspace's column names (importedColumns) and load_workspace's `source:destination`
     * pairs; a name with `,` or `:` cannot be one of them.
     *
     * @return array{0: list<string>, 1: list<string>}
     */
    private function columns(LoadTableToWorkspaceCommand $command): array
    {
        $columns = [];
        $pairs = [];
        foreach ($command->getSource()?->getColumnMappings() ?? [] as $mapping) {
            $from = $mapping->getSourceColumnName();
            $to = $mapping->getDestinationColumnName() === '' ? $from : $mapping->getDestinationColumnName();
            if (preg_match('/[,:]/', $from . $to) === 1) {
                throw self::unsupported(sprintf('Column names with "," or ":" cannot be mapped: "%s" → "%s".', $from, $to));
            }
            $columns[] = $to;
            $pairs[] = $from === $to ? $from : $from . ':' . $to;
        }
        return [$columns, $pairs];
    }

    private static function unsupported(string $message): NonRetryableDuckstoreException
    {
        return new NonRetryableDuckstoreException($message, ErrorCode::VALIDATION);
    }
}

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
 * Input mapping: load_workspace copies a storage table (columns, filters, limit) into the
 * workspace, replacing the destination. Source path = [bucket], destination path = [workspace].
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
        if ($options !== null && $options->getImportType() !== ImportType::FULL) {
            throw self::unsupported('Only a full load into a workspace is supported (it replaces the table).');
        }

        $columns = $this->columns($command);
        $started = microtime(true);
        $db = $this->connections->db($credentials);
        $row = $db->call('load_workspace', [
            'workspace' => WorkspaceLookup::get($db, $destination->getPath()[0]),
            'source' => $source->getPath()[0] . '.' . $source->getTableName(),
            'destination' => $destination->getTableName(),
            'columns' => $columns === [] ? null : implode(',', $columns),
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

    /** @return string[] source columns; duckstore keeps their names, so a rename is refused */
    private function columns(LoadTableToWorkspaceCommand $command): array
    {
        $columns = [];
        foreach ($command->getSource()?->getColumnMappings() ?? [] as $mapping) {
            if ($mapping->getDestinationColumnName() !== '' &&
                $mapping->getDestinationColumnName() !== $mapping->getSourceColumnName()) {
                throw self::unsupported('Renaming columns while loading a workspace is not supported.');
            }
            $columns[] = $mapping->getSourceColumnName();
        }
        return $columns;
    }

    private static function unsupported(string $message): NonRetryableDuckstoreException
    {
        return new NonRetryableDuckstoreException($message, ErrorCode::VALIDATION);
    }
}

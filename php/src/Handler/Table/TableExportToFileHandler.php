<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\FileFormat;
use Keboola\StorageDriver\Command\Table\TableExportToFileCommand;
use Keboola\StorageDriver\Command\Table\TableExportToFileResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * CALL export_table. duckstore writes the rows to a new file on its files sidecar (tagged
 * `export`); fileProvider and fileCredentials cannot choose where. filePath.fileName names the
 * file and filePath.path tags it. The response has
 * no field for the file, so its id is told to the user in a log message (context: fileId, rows,
 * size, sha256), and TableExportToFileResponse carries the table's info as BigQuery's does.
 */
final class TableExportToFileHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof TableExportToFileCommand);
        $source = $command->getSource();
        if ($source === null) {
            throw new NonRetryableDuckstoreException('The source table is missing.', ErrorCode::VALIDATION);
        }
        $ref = TableRef::fromPath($source->getPath(), $source->getTableName());
        if ($command->getFileCredentials() !== null && $command->getFileCredentials()->getTypeUrl() !== '') {
            $this->userLogger->warning('File credentials were ignored: duckstore writes to its own files sidecar.');
        }
        $options = $command->getExportOptions() ?? new ExportOptions();
        $columns = TableRef::toArray($options->getColumnsToExport());

        $args = [
            'table' => $ref->id(),
            'format' => $command->getFileFormat() === FileFormat::PARQUET ? 'parquet' : 'csv',
            'compression' => $options->getIsCompressed() ? 'gzip' : 'none',
            'columns' => $columns === [] ? null : implode(',', $columns),
            'order_by' => ExportOptionsMapper::orderBy($options->getOrderBy()),
        ] + ExportOptionsMapper::filters($options->getFilters());
        // filePath cannot choose where the file goes, but its file name names the sidecar file
        // and its path becomes a tag, so Connection can find the export by either.
        $filePath = $command->getFilePath();
        if ($filePath !== null && $filePath->getFileName() !== '') {
            $args['file_name'] = $filePath->getFileName();
        }
        if ($filePath !== null && trim($filePath->getPath(), '/') !== '') {
            $args['tags'] = str_replace(',', '_', trim($filePath->getPath(), '/'));
        }

        $db = $this->connections->db($credentials);
        $row = $db->call('export_table', $args)[0];
        $this->userLogger->info(sprintf('Table "%s" exported to duckstore file %d.', $ref->id(), (int) $row['file_id']), [
            'fileId' => (int) $row['file_id'],
            'rows' => (int) $row['rows'],
            'size' => (int) $row['size'],
            'sha256' => (string) $row['sha256'],
        ]);

        return (new TableExportToFileResponse())
            ->setTableInfo((new TableInfoReader($db))->read($ref->bucket, $ref->table));
    }
}

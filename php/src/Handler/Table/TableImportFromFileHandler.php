<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\ImportExportShared\FileFormat;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand\CsvTypeOptions;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand\CsvTypeOptions\SourceType;
use Keboola\StorageDriver\Command\Table\TableImportResponse;
use Keboola\StorageDriver\Command\Table\TableImportResponse\Timer;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\SqlStateMapper;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;
use PDOException;

/**
 * CALL import_table. Files live on duckstore's files sidecar, not in S3/ABS/GCS: the file is
 * named by its sidecar id in filePath.fileName (root and path are not used), and whatever
 * fileProvider/fileCredentials say is ignored with a warning to the user.
 */
final class TableImportFromFileHandler extends BaseHandler
{
    private const FILE_NOT_FOUND = 4201;
    private const INVALID_FILE_PARAMS = 4203;

    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof TableImportFromFileCommand);
        $destination = $command->getDestination();
        if ($destination === null) {
            throw new NonRetryableDuckstoreException('The destination table is missing.', ErrorCode::VALIDATION);
        }
        $ref = TableRef::fromPath($destination->getPath(), $destination->getTableName());
        $fileIds = $this->fileIds($command);
        if ($command->getFileCredentials() !== null && $command->getFileCredentials()->getTypeUrl() !== '') {
            $this->userLogger->warning('File credentials were ignored: duckstore reads its own files sidecar.');
        }
        $options = $command->getImportOptions() ?? new ImportOptions();
        // The last ignored line is the header; the ones before it are skipped unread.
        $ignored = $options->getNumberOfIgnoredLines();
        if ($ignored < 0) {
            throw new NonRetryableDuckstoreException('numberOfIgnoredLines must not be negative.', self::INVALID_FILE_PARAMS);
        }
        $header = $ignored > 0;

        $db = $this->connections->db($credentials);
        $reader = new TableInfoReader($db);
        $table = $reader->read($ref->bucket, $ref->table);
        $args = [
            'table' => $ref->id(),
            'file_ids' => implode(',', $fileIds),
            'incremental' => ImportOptionsMapper::incremental($options),
            'dedup' => ImportOptionsMapper::dedup($options, $table),
            'keep_timestamps' => ImportOptionsMapper::keepTimestamps($options),
            'header' => $header,
            'skip_lines' => $ignored > 1 ? $ignored - 1 : null,
        ] + ImportOptionsMapper::nulls($options, $table);
        $columns = [];
        if ($command->getFileFormat() === FileFormat::PARQUET) {
            $args['format'] = 'parquet';
        } else {
            $csv = $this->csvOptions($command);
            // columnsNames are the file's columns in file order; duckstore then maps by position.
            $columns = TableRef::toArray($csv->getColumnsNames());
            $args += [
                'columns' => $columns === [] ? null : implode(',', $columns),
                'delimiter' => $csv->getDelimiter() === '' ? null : $csv->getDelimiter(),
                'enclosure' => $csv->getEnclosure() === '' ? null : $csv->getEnclosure(),
                'escape' => $csv->getEscapedBy() === '' ? null : $csv->getEscapedBy(),
            ];
        }

        try {
            $row = $db->call('import_table', $args)[0];
        } catch (PDOException $e) {
            // Bad rows are the source data's fault: 4200, and the table keeps its rows.
            $error = SqlStateMapper::fromPdo($e, true);
            if ($error->getSqlState() === '58P01') {
                throw new NonRetryableDuckstoreException($error->getMessage(), self::FILE_NOT_FOUND, $e);
            }
            throw $error;
        }

        if ($columns === []) {
            foreach ($table->getColumns() as $column) {
                $columns[] = $column->getName();
            }
        }
        return (new TableImportResponse())
            ->setImportedRowsCount((int) $row['imported_rows'])
            ->setTableRowsCount((int) $row['table_rows'])
            ->setTableSizeBytes((int) $row['table_bytes'])
            ->setImportedColumns($columns)
            ->setTimers([(new Timer())->setName('import_table')->setDuration((string) $row['seconds'])]);
    }

    /**
     * The sidecar file id in filePath.fileName; for a sliced file, the ids of its slices,
     * comma-separated, in order.
     *
     * @return list<int>
     */
    private function fileIds(TableImportFromFileCommand $command): array
    {
        $name = $command->getFilePath()?->getFileName() ?? '';
        $sliced = $command->getFileFormat() !== FileFormat::PARQUET
            && $this->csvOptions($command)->getSourceType() === SourceType::SLICED_FILE;
        $pattern = $sliced ? '/^\d+(,\d+)*$/' : '/^\d+$/';
        if (preg_match($pattern, $name) !== 1) {
            throw new NonRetryableDuckstoreException(
                sprintf(
                    'filePath.fileName must be %s; got "%s".',
                    $sliced ? 'the duckstore file ids of the slices, comma-separated' : 'a duckstore file id',
                    $name,
                ),
                self::INVALID_FILE_PARAMS,
            );
        }
        return array_map('intval', explode(',', $name));
    }

    private function csvOptions(TableImportFromFileCommand $command): CsvTypeOptions
    {
        $any = $command->getFormatTypeOptions();
        $csv = $any !== null && $any->getTypeUrl() !== '' ? $any->unpack() : new CsvTypeOptions();
        if (!$csv instanceof CsvTypeOptions) {
            throw new NonRetryableDuckstoreException('formatTypeOptions must be CsvTypeOptions.', self::INVALID_FILE_PARAMS);
        }
        if ($csv->getSourceType() === SourceType::DIRECTORY) {
            // A directory has no meaning on the sidecar: files are named by id, not by place.
            throw new CommandNotSupportedException('import of a ' . SourceType::name($csv->getSourceType()));
        }
        return $csv;
    }
}

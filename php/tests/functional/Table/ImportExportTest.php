<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Google\Protobuf\Any;
use Google\Protobuf\StringValue;
use Keboola\StorageDriver\Command\Common\DriverResponse;
use Keboola\StorageDriver\Command\Common\LogMessage\Level;
use Keboola\StorageDriver\Command\Table\ImportExportShared\DataType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportFilters;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOrderBy;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOrderBy\Order;
use Keboola\StorageDriver\Command\Table\ImportExportShared\FileFormat;
use Keboola\StorageDriver\Command\Table\ImportExportShared\FilePath;
use Keboola\StorageDriver\Command\Table\ImportExportShared\FileProvider;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\DedupType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\ImportType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\S3Credentials;
use Keboola\StorageDriver\Command\Table\ImportExportShared\Table;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;
use Keboola\StorageDriver\Command\Table\TableExportToFileCommand;
use Keboola\StorageDriver\Command\Table\TableExportToFileResponse;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand\CsvTypeOptions;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand\CsvTypeOptions\SourceType;
use Keboola\StorageDriver\Command\Table\TableImportResponse;

final class ImportExportTest extends TableTestCase
{
    private const CSV = "id,name,amount\n1,acme,120.50\n2,globex,80.00\n3,initech,42.25\n";

    protected function setUp(): void
    {
        parent::setUp();
        $this->createOrders();
    }

    public function testFullLoadFromSidecarFile(): void
    {
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (99, 'old', 1.00)");
        $fileId = $this->upload(self::CSV);

        $response = $this->import($fileId, 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1));

        self::assertSame(3, (int) $response->getImportedRowsCount());
        self::assertSame(3, (int) $response->getTableRowsCount());
        self::assertGreaterThan(0, (int) $response->getTableSizeBytes());
        self::assertSame(['id', 'name', 'amount'], iterator_to_array($response->getImportedColumns()));
        self::assertCount(1, $response->getTimers());
        self::assertSame([1, 2, 3], array_column($this->tableRows('orders'), 'id'));
    }

    public function testIncrementalLoadUpdatesByKey(): void
    {
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'old', 1.00), (7, 'keep', 7.00)");
        $fileId = $this->upload("2;\"glob;ex\";8\n1;acme;9.5\n", 'semicolons.csv');
        $csv = (new CsvTypeOptions())->setDelimiter(';')->setEnclosure('"')->setColumnsNames(['id', 'name', 'amount']);

        $response = $this->import($fileId, 'orders', (new ImportOptions())
            ->setImportType(ImportType::INCREMENTAL)
            ->setDedupType(DedupType::UPDATE_DUPLICATES)
            ->setNumberOfIgnoredLines(0), $csv);

        self::assertSame(2, (int) $response->getImportedRowsCount());
        self::assertSame(3, (int) $response->getTableRowsCount());
        self::assertSame([
            ['id' => 1, 'name' => 'acme', 'amount' => '9.50'],
            ['id' => 2, 'name' => 'glob;ex', 'amount' => '8.00'],
            ['id' => 7, 'name' => 'keep', 'amount' => '7.00'],
        ], $this->tableRows('orders'));
    }

    public function testBadDataIsInvalidSourceDataAndTableUnchanged(): void
    {
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'old', 1.00)");
        $fileId = $this->upload("id,name,amount\n5,ok,1\nnot-a-number,bad,2\n");

        $error = $this->assertDriverError(4200, fn () => $this->import($fileId, 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1)));

        self::assertStringContainsString('line', $error->getMessage());
        self::assertSame([['id' => 1, 'name' => 'old', 'amount' => '1.00']], $this->tableRows('orders'));
    }

    public function testFileMustBeASidecarIdOfThisProject(): void
    {
        $this->assertDriverError(4203, fn () => $this->import(0, 'orders', new ImportOptions(), null, 'data/orders.csv'));
        $this->assertDriverError(4201, fn () => $this->import(987654, 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1)));

        // Another project's file is not found either.
        $other = $this->createProject();
        $foreign = $this->upload(self::CSV, 'foreign.csv', $other);
        $this->assertDriverError(4201, fn () => $this->import($foreign, 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1)));
        self::assertSame([], $this->tableRows('orders'));
    }

    public function testForeignProjectCannotImport(): void
    {
        $other = $this->createProject();
        $fileId = $this->upload(self::CSV, 'mine.csv', $other);
        $command = $this->importCommand($fileId, 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1));

        $this->assertDriverError([2003, 2004, 2007], fn () => $this->runCommand($other, $command));
        self::assertSame([], $this->tableRows('orders'));
    }

    public function testExportImportRoundTrip(): void
    {
        $this->import($this->upload(self::CSV), 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1));

        // CSV, filtered and sorted; the file id comes back in a user log message.
        $response = $this->runCommand($this->project, (new TableExportToFileCommand())
            ->setSource((new Table())->setPath([self::BUCKET])->setTableName('orders'))
            ->setFileFormat(FileFormat::CSV)
            ->setExportOptions((new ExportOptions())
                ->setColumnsToExport(['id', 'name'])
                ->setOrderBy([(new ExportOrderBy())->setColumnName('id')->setOrder(Order::DESC)])
                ->setFilters((new ExportFilters())->setWhereFilters([
                    (new TableWhereFilter())->setColumnsName('amount')->setOperator(Operator::gt)->setValues(['50']),
                ]))));
        $export = self::unpack($response, TableExportToFileResponse::class);
        self::assertSame('orders', $export->getTableInfo()?->getTableName());
        self::assertSame(3, (int) $export->getTableInfo()?->getRowsCount());
        $fileId = self::exportedFileId($response);
        self::assertSame("id,name\n2,globex\n1,acme\n", $this->download($fileId));

        // Parquet of the whole table back into a new table with the same columns.
        $response = $this->runCommand($this->project, (new TableExportToFileCommand())
            ->setSource((new Table())->setPath([self::BUCKET])->setTableName('orders'))
            ->setFileFormat(FileFormat::PARQUET)
            ->setFilePath((new FilePath())->setPath('exports/run-7')->setFileName('orders.parquet')));
        $parquet = self::exportedFileId($response);
        $file = self::pdo($this->project)->query("SELECT name, tags::VARCHAR AS tags FROM duckstore.files WHERE id = {$parquet}")->fetch();
        self::assertSame('orders.parquet', $file['name']);
        self::assertStringContainsString('exports/run-7', $file['tags']);
        self::assertStringStartsWith('PAR1', $this->download($parquet));
        $this->createOrders('copy');
        $import = $this->import($parquet, 'copy', new ImportOptions(), null, null, FileFormat::PARQUET);
        self::assertSame(3, (int) $import->getImportedRowsCount());
        self::assertSame($this->tableRows('orders'), $this->tableRows('copy'));
    }

    public function testExportSearchesEveryColumnForTheFulltextAndComparesTypedFilters(): void
    {
        $this->import($this->upload(self::CSV), 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1));

        // "GLOB" is in a name, not in the exported id; amount compared as text would make '100.00' < '50'
        $response = $this->runCommand($this->project, (new TableExportToFileCommand())
            ->setSource((new Table())->setPath([self::BUCKET])->setTableName('orders'))
            ->setFileFormat(FileFormat::CSV)
            ->setExportOptions((new ExportOptions())
                ->setColumnsToExport(['id'])
                ->setFilters((new ExportFilters())->setFulltextSearch('GLOB')->setWhereFilters([
                    (new TableWhereFilter())->setColumnsName('amount')->setOperator(Operator::gt)->setValues(['50'])->setDataType(DataType::DOUBLE),
                ]))));
        self::assertSame("id\n2\n", $this->download(self::exportedFileId($response)));
    }

    public function testForeignFileCredentialsAreIgnoredWithAWarning(): void
    {
        $fileId = $this->upload(self::CSV);
        $credentials = new Any();
        $credentials->pack((new S3Credentials())->setKey('k')->setSecret('s')->setRegion('eu-central-1'));
        $command = $this->importCommand($fileId, 'orders', (new ImportOptions())->setNumberOfIgnoredLines(1))
            ->setFileProvider(FileProvider::S3)
            ->setFileCredentials($credentials);

        $response = $this->runCommand($this->project, $command);

        self::assertSame(Level::Warning, $response->getMessages()[0]->getLevel());
        self::assertCount(3, $this->tableRows('orders'));
    }

    public function testSlicedFileWithSeveralNullMarkersAndIgnoredLines(): void
    {
        // two slices without a header; "NA" and "-" mean NULL in every column
        $first = $this->upload("1,acme,NA\n2,-,80.00\n", 'slice-1.csv');
        $second = $this->upload("3,initech,42.25\n", 'slice-2.csv');
        $csv = (new CsvTypeOptions())->setSourceType(SourceType::SLICED_FILE)->setColumnsNames(['id', 'name', 'amount']);
        $response = $this->import(0, 'orders', (new ImportOptions())->setImportAsNull(['NA', '-']), $csv, "{$first},{$second}");

        self::assertSame(3, (int) $response->getImportedRowsCount());
        self::assertSame([
            ['id' => 1, 'name' => 'acme', 'amount' => null],
            ['id' => 2, 'name' => null, 'amount' => '80.00'],
            ['id' => 3, 'name' => 'initech', 'amount' => '42.25'],
        ], $this->tableRows('orders'));

        // three ignored lines: two of preamble, then the header, which names the columns
        $report = $this->upload("report of 2026-11-28\n\nname,amount,id\nhooli,1.00,4\n");
        $this->import($report, 'orders', (new ImportOptions())->setNumberOfIgnoredLines(3)->setImportType(ImportType::INCREMENTAL));
        self::assertSame(['id' => 4, 'name' => 'hooli', 'amount' => '1.00'], $this->tableRows('orders')[3]);

        // slices are ids, comma-separated; another project's slice is not found
        $this->assertDriverError(4203, fn () => $this->import(0, 'orders', new ImportOptions(), $csv, "{$first};{$second}"));
        $foreign = $this->upload("9,x,1\n", 'x.csv', $this->createProject());
        $this->assertDriverError(4201, fn () => $this->import(0, 'orders', new ImportOptions(), $csv, "{$first},{$foreign}"));
        self::assertCount(4, $this->tableRows('orders'));
    }

    public function testEmptyValuesBecomeNullOnlyInTheNamedTextColumns(): void
    {
        $this->createTable('people', [self::column('id', 'INTEGER'), self::column('first', 'STRING'), self::column('last', 'STRING')]);
        $file = $this->upload("id,first,last\n1,,\n");
        $this->import($file, 'people', (new ImportOptions())->setNumberOfIgnoredLines(1)->setConvertEmptyValuesToNullOnColumns(['last']));

        self::assertSame([['id' => 1, 'first' => '', 'last' => null]], $this->tableRows('people'));
    }

    private function import(
        int $fileId,
        string $table,
        ImportOptions $options,
        ?CsvTypeOptions $csv = null,
        ?string $fileName = null,
        int $format = FileFormat::CSV,
    ): TableImportResponse {
        $command = $this->importCommand($fileId, $table, $options, $csv, $fileName)->setFileFormat($format);
        return self::unpack($this->runCommand($this->project, $command), TableImportResponse::class);
    }

    private function importCommand(
        int $fileId,
        string $table,
        ImportOptions $options,
        ?CsvTypeOptions $csv = null,
        ?string $fileName = null,
    ): TableImportFromFileCommand {
        $formatOptions = new Any();
        $formatOptions->pack($csv ?? new CsvTypeOptions());
        return (new TableImportFromFileCommand())
            ->setFileFormat(FileFormat::CSV)
            ->setFormatTypeOptions($formatOptions)
            ->setFilePath((new FilePath())->setFileName($fileName ?? (string) $fileId))
            ->setDestination((new Table())->setPath([self::BUCKET])->setTableName($table))
            ->setImportOptions($options);
    }

    private static function exportedFileId(DriverResponse $response): int
    {
        foreach ($response->getMessages() as $message) {
            $context = $message->getContext();
            if ($context !== null && $context->getTypeUrl() !== '') {
                $value = $context->unpack();
                self::assertInstanceOf(StringValue::class, $value);
                $data = json_decode($value->getValue(), true, 512, JSON_THROW_ON_ERROR);
                if (isset($data['fileId'])) {
                    self::assertStringContainsString('exported to duckstore file', $message->getMessage());
                    return (int) $data['fileId'];
                }
            }
        }
        self::fail('no exported file id in the log messages');
    }
}

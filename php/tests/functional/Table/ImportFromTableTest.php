<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\DedupType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\ImportType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\TimestampMode;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportFilters;
use Keboola\StorageDriver\Command\Table\PreviewTableCommand;
use Keboola\StorageDriver\Command\Table\PreviewTableResponse;
use Keboola\StorageDriver\Command\Table\ImportExportShared\Table;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand\SourceTableMapping;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand\SourceTableMapping\ColumnMapping;
use Keboola\StorageDriver\Command\Table\TableImportResponse;

final class ImportFromTableTest extends TableTestCase
{
    protected function setUp(): void
    {
        parent::setUp();
        $this->createTable('source', [
            self::column('key', 'INTEGER', nullable: false),
            self::column('label', 'STRING'),
        ], ['key']);
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"source\" VALUES (1, 'one'), (2, 'two'), (3, 'three')");
        $this->createOrders();
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'old', 5.00), (9, 'nine', 9.00)");
    }

    /** @return iterable<string, array{int, list<array<string, mixed>>}> */
    public function dedupTypes(): iterable
    {
        yield 'update' => [DedupType::UPDATE_DUPLICATES, [
            ['id' => 1, 'name' => 'one', 'amount' => '5.00'],
            ['id' => 2, 'name' => 'two', 'amount' => null],
            ['id' => 9, 'name' => 'nine', 'amount' => '9.00'],
        ]];
        yield 'insert' => [DedupType::INSERT_DUPLICATES, [
            ['id' => 1, 'name' => 'old', 'amount' => '5.00'],
            ['id' => 2, 'name' => 'two', 'amount' => null],
            ['id' => 9, 'name' => 'nine', 'amount' => '9.00'],
        ]];
    }

    /**
     * @dataProvider dedupTypes
     * @param list<array<string, mixed>> $expected
     */
    public function testIncrementalCopyWithMappingAndFilter(int $dedup, array $expected): void
    {
        $response = self::unpack($this->runCommand($this->project, $this->command(ImportType::INCREMENTAL, $dedup)), TableImportResponse::class);

        self::assertSame(['id', 'name'], iterator_to_array($response->getImportedColumns()));
        self::assertSame(3, (int) $response->getTableRowsCount());
        self::assertSame($expected, $this->tableRows('orders'));
    }

    public function testTimestampModeFromSourceKeepsTheSourceRowsChangeTimes(): void
    {
        sleep(2);
        $copy = fn (string $table, int $mode) => $this->runCommand($this->project, (new TableImportFromTableCommand())
            ->setSource((new SourceTableMapping())->setPath([self::BUCKET])->setTableName('source'))
            ->setDestination((new Table())->setPath([self::BUCKET])->setTableName($table))
            ->setImportOptions((new ImportOptions())->setTimestampMode($mode)));
        $copy('kept', TimestampMode::FROM_SOURCE);
        $copy('fresh', TimestampMode::CURRENT_TIME);

        // rows changed more than a second ago: the kept copy's, not the fresh copy's
        $old = fn (string $table) => self::unpack($this->runCommand($this->project, (new PreviewTableCommand())
            ->setPath([self::BUCKET])
            ->setTableName($table)
            ->setFilters((new ExportFilters())->setChangeUntil((string) (time() - 1)))), PreviewTableResponse::class);
        self::assertCount(3, $old('kept')->getRows());
        self::assertCount(0, $old('fresh')->getRows());
    }

    public function testFailOnDuplicatesLeavesTableUnchanged(): void
    {
        $this->assertDriverError(4200, fn () => $this->runCommand($this->project, $this->command(ImportType::INCREMENTAL, DedupType::FAIL_ON_DUPLICATES)));
        self::assertSame([1, 9], array_column($this->tableRows('orders'), 'id'));
    }

    public function testFullLoadReplacesRowsWithMappedColumnsFilterAndLimit(): void
    {
        $command = $this->command(ImportType::FULL, DedupType::UPDATE_DUPLICATES);
        $command->getSource()?->setWhereFilters([
            (new TableWhereFilter())->setColumnsName('key')->setOperator(Operator::ne)->setValues(['2']),
        ])->setLimit(5);
        $response = self::unpack($this->runCommand($this->project, $command), TableImportResponse::class);

        self::assertSame(2, (int) $response->getImportedRowsCount());
        self::assertSame(2, (int) $response->getTableRowsCount());
        self::assertGreaterThan(0, (int) $response->getTableSizeBytes());
        self::assertSame(['id', 'name'], iterator_to_array($response->getImportedColumns()));
        self::assertCount(1, $response->getTimers());
        // The old rows (1 'old', 9) are gone; amount is not mapped, so NULL.
        self::assertSame([
            ['id' => 1, 'name' => 'one', 'amount' => null],
            ['id' => 3, 'name' => 'three', 'amount' => null],
        ], $this->tableRows('orders'));

        // A limit alone: one row, still a replacement.
        $command->getSource()?->setWhereFilters([])->setLimit(1);
        $response = self::unpack($this->runCommand($this->project, $command), TableImportResponse::class);
        self::assertSame(1, (int) $response->getImportedRowsCount());
        self::assertCount(1, $this->tableRows('orders'));
    }

    public function testFullLoadWithoutMappingsCreatesTheDestination(): void
    {
        $response = self::unpack($this->runCommand($this->project, (new TableImportFromTableCommand())
            ->setSource((new SourceTableMapping())->setPath([self::BUCKET])->setTableName('source'))
            ->setDestination((new Table())->setPath([self::BUCKET])->setTableName('copy'))
            ->setImportOptions((new ImportOptions())->setImportType(ImportType::FULL))), TableImportResponse::class);

        self::assertSame(3, (int) $response->getImportedRowsCount());
        self::assertSame(['key', 'label'], iterator_to_array($response->getImportedColumns()));
        self::assertSame(['one', 'two', 'three'], array_column($this->tableRows('copy', 'key'), 'label'));
    }

    public function testSecondsLoadsOnlyRecentChanges(): void
    {
        sleep(2);
        $this->pdo->exec("UPDATE \"in.c-driver\".\"source\" SET label = 'THREE' WHERE \"key\" = 3");
        $command = $this->command(ImportType::INCREMENTAL, DedupType::UPDATE_DUPLICATES);
        $command->getSource()?->setWhereFilters([])->setSeconds(1);
        $response = self::unpack($this->runCommand($this->project, $command), TableImportResponse::class);
        self::assertSame(1, (int) $response->getImportedRowsCount());
        self::assertSame([[1, 'old'], [3, 'THREE'], [9, 'nine']],
            array_map(static fn (array $r): array => [$r['id'], $r['name']], $this->tableRows('orders')));
    }

    public function testAnotherProjectsSourceTableIsRefused(): void
    {
        $foreign = $this->createProject();
        $pdo = self::pdo($foreign);
        $pdo->exec('CREATE SCHEMA "in.c-foreign"');
        $pdo->exec('CREATE TABLE "in.c-foreign"."source" ("key" INTEGER, label STRING)');
        $pdo->exec("INSERT INTO \"in.c-foreign\".\"source\" VALUES (7, 'seven')");

        $command = $this->command(ImportType::FULL, DedupType::UPDATE_DUPLICATES);
        $command->getSource()?->setPath(['in.c-foreign'])->setWhereFilters([]);
        $this->assertDriverError([2003, 2004], fn () => $this->runCommand($this->project, $command));
        self::assertSame([1, 9], array_column($this->tableRows('orders'), 'id'));
    }

    private function command(int $importType, int $dedup): TableImportFromTableCommand
    {
        return (new TableImportFromTableCommand())
            ->setSource((new SourceTableMapping())
                ->setPath([self::BUCKET])
                ->setTableName('source')
                ->setWhereFilters([(new TableWhereFilter())->setColumnsName('key')->setOperator(Operator::le)->setValues(['2'])])
                ->setColumnMappings([
                    (new ColumnMapping())->setSourceColumnName('key')->setDestinationColumnName('id'),
                    (new ColumnMapping())->setSourceColumnName('label')->setDestinationColumnName('name'),
                ]))
            ->setDestination((new Table())->setPath([self::BUCKET])->setTableName('orders'))
            ->setImportOptions((new ImportOptions())->setImportType($importType)->setDedupType($dedup));
    }
}

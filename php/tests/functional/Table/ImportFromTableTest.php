<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\DedupType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\ImportType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\Table;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand\SourceTableMapping;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand\SourceTableMapping\ColumnMapping;
use Keboola\StorageDriver\Command\Table\TableImportResponse;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

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

    public function testFailOnDuplicatesLeavesTableUnchanged(): void
    {
        $this->assertDriverError(4200, fn () => $this->runCommand($this->project, $this->command(ImportType::INCREMENTAL, DedupType::FAIL_ON_DUPLICATES)));
        self::assertSame([1, 9], array_column($this->tableRows('orders'), 'id'));
    }

    public function testFullLoadIsNotFaked(): void
    {
        $this->expectException(CommandNotSupportedException::class);
        try {
            $this->runCommand($this->project, $this->command(ImportType::FULL, DedupType::UPDATE_DUPLICATES));
        } finally {
            self::assertSame([1, 9], array_column($this->tableRows('orders'), 'id'));
        }
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

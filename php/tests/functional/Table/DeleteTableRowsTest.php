<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Table\DeleteTableRowsCommand;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsCommand\WhereRefTableFilter;
use Keboola\StorageDriver\Command\Table\DeleteTableRowsResponse;
use Keboola\StorageDriver\Command\Table\ImportExportShared\DataType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;

final class DeleteTableRowsTest extends TableTestCase
{
    protected function setUp(): void
    {
        parent::setUp();
        $this->createOrders();
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'a', 1.00), (2, 'b', 2.00), (3, 'c', 3.00), (4, 'd', 4.00)");
    }

    public function testDeletesRowsTheFiltersMatch(): void
    {
        $response = self::unpack($this->runCommand($this->project, $this->command()->setWhereFilters([
            (new TableWhereFilter())->setColumnsName('name')->setOperator(Operator::eq)->setValues(['a', 'c', 'd']),
            (new TableWhereFilter())->setColumnsName('amount')->setOperator(Operator::lt)->setValues(['4']),
        ])), DeleteTableRowsResponse::class);

        self::assertSame(2, (int) $response->getDeletedRowsCount());
        self::assertSame(2, (int) $response->getTableRowsCount());
        self::assertGreaterThan(0, (int) $response->getTableSizeBytes());
        self::assertSame([2, 4], array_column($this->tableRows('orders'), 'id'));
    }

    public function testTypedFiltersCompareAsTheirType(): void
    {
        // name holds text: as DOUBLE, 'b' does not convert and matches nothing
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (5, '10', 0), (6, '9', 0)");
        $response = self::unpack($this->runCommand($this->project, $this->command()->setWhereFilters([
            (new TableWhereFilter())->setColumnsName('name')->setOperator(Operator::gt)->setValues(['9.5'])->setDataType(DataType::DOUBLE),
        ])), DeleteTableRowsResponse::class);

        self::assertSame(1, (int) $response->getDeletedRowsCount());
        self::assertSame([1, 2, 3, 4, 6], array_column($this->tableRows('orders'), 'id'));
    }

    public function testWithoutFiltersDeletesEverything(): void
    {
        $response = self::unpack($this->runCommand($this->project, $this->command()), DeleteTableRowsResponse::class);

        self::assertSame(4, (int) $response->getDeletedRowsCount());
        self::assertSame([], $this->tableRows('orders'));
    }

    public function testChangeUntilInThePastDeletesNothing(): void
    {
        $response = self::unpack($this->runCommand(
            $this->project,
            $this->command()->setChangeUntil((string) (time() - 3600)),
        ), DeleteTableRowsResponse::class);

        self::assertSame(0, (int) $response->getDeletedRowsCount());
        self::assertCount(4, $this->tableRows('orders'));
    }

    public function testReferenceFiltersDeleteRowsFoundInAnotherTable(): void
    {
        $this->pdo->exec('CREATE TABLE "in.c-driver"."closed" (name STRING)');
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"closed\" VALUES ('b'), ('d'), (NULL)");

        $response = self::unpack($this->runCommand($this->project, $this->command()->setWhereRefTableFilters([
            (new WhereRefTableFilter())->setColumn('name')->setRefPath([self::BUCKET])->setRefTable('closed')->setRefColumn('name'),
        ])), DeleteTableRowsResponse::class);
        self::assertSame(2, (int) $response->getDeletedRowsCount());
        self::assertSame([1, 3], array_column($this->tableRows('orders'), 'id'));

        // NOT_IN with an ordinary filter: of the rest, those under 3 not named in "closed"
        $response = self::unpack($this->runCommand($this->project, $this->command()
            ->setWhereFilters([(new TableWhereFilter())->setColumnsName('amount')->setOperator(Operator::lt)->setValues(['3'])])
            ->setWhereRefTableFilters([
                (new WhereRefTableFilter())->setColumn('name')->setOperator(WhereRefTableFilter\Operator::NOT_IN)
                    ->setRefPath([self::BUCKET])->setRefTable('closed')->setRefColumn('name'),
            ])), DeleteTableRowsResponse::class);
        self::assertSame(1, (int) $response->getDeletedRowsCount());
        self::assertSame([3], array_column($this->tableRows('orders'), 'id'));

        // another project's table cannot be the reference
        $other = $this->createProject();
        $this->assertDriverError([2003, 2004, 2007], fn () => $this->runCommand($other, $this->command()->setWhereRefTableFilters([
            (new WhereRefTableFilter())->setColumn('name')->setRefPath([self::BUCKET])->setRefTable('closed')->setRefColumn('name'),
        ])));
    }

    private function command(): DeleteTableRowsCommand
    {
        return (new DeleteTableRowsCommand())->setPath([self::BUCKET])->setTableName('orders');
    }
}

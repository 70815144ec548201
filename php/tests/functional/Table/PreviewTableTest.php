<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Table\ImportExportShared\DataType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportFilters;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOrderBy;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOrderBy\Order;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;
use Keboola\StorageDriver\Command\Table\PreviewTableCommand;
use Keboola\StorageDriver\Command\Table\PreviewTableResponse;

final class PreviewTableTest extends TableTestCase
{
    protected function setUp(): void
    {
        parent::setUp();
        $this->createTable('t', [
            self::column('id', 'INTEGER', nullable: false),
            self::column('code', 'STRING'),
            self::column('flag', 'BOOLEAN'),
        ], ['id']);
        $statement = $this->pdo->prepare('INSERT INTO "in.c-driver"."t" VALUES (?, ?, ?)');
        foreach ([[1, '10', 'true'], [2, '9', 'false'], [3, null, null], [4, str_repeat('é', 20000), 'true'], [5, "it's 100%", 'false']] as $row) {
            $statement->execute($row);
        }
    }

    public function testPreviewsAllColumnsWithDefaultLimitNullsAndTruncation(): void
    {
        $response = $this->preview((new PreviewTableCommand())->setOrderBy([(new ExportOrderBy())->setColumnName('id')]));

        self::assertSame(['id', 'code', 'flag'], iterator_to_array($response->getColumns()));
        self::assertCount(5, $response->getRows());
        self::assertSame(['1', '10', 'true'], self::values($response, 0));
        self::assertSame(['3', null, null], self::values($response, 2));
        $long = $response->getRows()[3]->getColumns()[1];
        self::assertTrue($long->getIsTruncated());
        self::assertSame(16384, mb_strlen($long->getValue()->getStringValue()));
        self::assertFalse($response->getRows()[3]->getColumns()[0]->getIsTruncated());
    }

    public function testFiltersOrderAndLimitWithBoundValues(): void
    {
        $response = $this->preview((new PreviewTableCommand())
            ->setColumns(['code', 'id'])
            ->setOrderBy([(new ExportOrderBy())->setColumnName('code')->setOrder(Order::DESC)->setDataType(DataType::INTEGER)])
            ->setFilters((new ExportFilters())->setLimit(2)->setWhereFilters([
                (new TableWhereFilter())->setColumnsName('id')->setOperator(Operator::ne)->setValues(['4', '5']),
            ])));

        // Ordered as integers: 10 before 9 (as strings 9 would come first); NULLs last.
        self::assertSame(['code', 'id'], iterator_to_array($response->getColumns()));
        self::assertSame([['10', '1'], ['9', '2']], [self::values($response, 0), self::values($response, 1)]);
    }

    public function testChangeTimesSelectRecentlyChangedRows(): void
    {
        sleep(2);
        $this->pdo->exec('UPDATE "in.c-driver"."t" SET code = \'11\' WHERE id = 1');
        $response = $this->preview((new PreviewTableCommand())
            ->setColumns(['id', 'code'])
            ->setFilters((new ExportFilters())->setChangeSince((string) (time() - 1))));
        self::assertSame(['id', 'code'], iterator_to_array($response->getColumns()));
        self::assertSame([['1', '11']], [self::values($response, 0)]);
        self::assertCount(1, $response->getRows());

        // with a change window, a typed order and a fulltext search go through preview_table too
        $this->pdo->exec('UPDATE "in.c-driver"."t" SET code = \'9\' WHERE id = 3');
        $response = $this->preview((new PreviewTableCommand())
            ->setColumns(['id'])
            ->setOrderBy([(new ExportOrderBy())->setColumnName('code')->setOrder(Order::DESC)->setDataType(DataType::INTEGER)])
            ->setFilters((new ExportFilters())->setChangeSince((string) (time() - 1))));
        self::assertSame([['1'], ['3']], [self::values($response, 0), self::values($response, 1)]);
        $response = $this->preview((new PreviewTableCommand())
            ->setColumns(['id'])
            ->setFilters((new ExportFilters())->setChangeSince((string) (time() - 1))->setFulltextSearch('11')));
        self::assertSame([['1']], [self::values($response, 0)]);
        self::assertCount(1, $response->getRows());
    }

    public function testFilterValuesAreNeverSpliced(): void
    {
        $response = $this->preview((new PreviewTableCommand())->setFilters((new ExportFilters())->setWhereFilters([
            (new TableWhereFilter())->setColumnsName('code')->setOperator(Operator::eq)->setValues(["x' OR '1'='1"]),
        ])));
        self::assertCount(0, $response->getRows());

        $response = $this->preview((new PreviewTableCommand())->setFilters((new ExportFilters())->setFulltextSearch('100%')));
        self::assertCount(1, $response->getRows());
        self::assertSame('5', self::values($response, 0)[0]);
    }

    public function testLimitAboveMaximumIsRefused(): void
    {
        $this->assertDriverError(3000, fn () => $this->preview((new PreviewTableCommand())->setFilters((new ExportFilters())->setLimit(1001))));
    }

    private function preview(PreviewTableCommand $command): PreviewTableResponse
    {
        $command->setPath([self::BUCKET])->setTableName('t');
        return self::unpack($this->runCommand($this->project, $command), PreviewTableResponse::class);
    }

    /** @return list<string|null> */
    private static function values(PreviewTableResponse $response, int $row): array
    {
        $values = [];
        foreach ($response->getRows()[$row]->getColumns() as $column) {
            $value = $column->getValue();
            $values[] = $value->getKind() === 'null_value' ? null : $value->getStringValue();
        }
        return $values;
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Info\ObjectInfoCommand;
use Keboola\StorageDriver\Command\Info\ObjectInfoResponse;
use Keboola\StorageDriver\Command\Info\ObjectType;
use Keboola\StorageDriver\Command\Table\CreateViewCommand;
use Keboola\StorageDriver\Command\Table\DropTableCommand;
use Keboola\StorageDriver\Command\Table\ImportExportShared\DataType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Sql\Quote;

final class CreateViewTest extends TableTestCase
{
    /** A value with a quote and a backslash, which must stay a value in the view's stored query. */
    private const TRICKY = "o'brien \\ co";

    protected function setUp(): void
    {
        parent::setUp();
        $this->createOrders();
        $insert = $this->pdo->prepare(sprintf('INSERT INTO %s VALUES (?, ?, ?)', Quote::qualified(self::BUCKET, 'orders')));
        foreach ([[1, 'ann', '10.50'], [2, self::TRICKY, '20.00'], [3, 'cid', '5.25'], [4, null, '7.00']] as $row) {
            $insert->execute($row);
        }
    }

    /**
     * @param list<string> $columns
     * @param list<TableWhereFilter> $filters
     */
    private function createView(string $name, array $columns = [], array $filters = [], ?GenericBackendCredentials $as = null): void
    {
        $response = $this->runCommand($as ?? $this->project, (new CreateViewCommand())
            ->setPath([self::BUCKET])
            ->setViewName($name)
            ->setSourcePath([self::BUCKET])
            ->setSourceTableName('orders')
            ->setColumns($columns)
            ->setWhereFilters($filters));
        self::assertNull($response->getCommandResponse());
    }

    private static function filter(string $column, int $operator, array $values, int $type = DataType::STRING): TableWhereFilter
    {
        return (new TableWhereFilter())->setColumnsName($column)->setOperator($operator)->setValues($values)->setDataType($type);
    }

    /** @return list<array<string, mixed>> */
    private function viewRows(string $view): array
    {
        return self::rows($this->pdo, sprintf('SELECT * FROM %s ORDER BY 1', Quote::qualified(self::BUCKET, $view)));
    }

    public function testViewSelectsColumnsAndFilteredRowsAndSeesLaterWrites(): void
    {
        $this->createView('some', ['id', 'name'], [
            self::filter('name', Operator::eq, ['ann', self::TRICKY, 'nobody']),
            self::filter('amount', Operator::ge, ['10'], DataType::DOUBLE),
        ]);

        self::assertSame([['id' => 1, 'name' => 'ann'], ['id' => 2, 'name' => self::TRICKY]], $this->viewRows('some'));
        $this->pdo->exec(sprintf("INSERT INTO %s VALUES (5, 'nobody', 99)", Quote::qualified(self::BUCKET, 'orders')));
        self::assertCount(3, $this->viewRows('some'));
    }

    public function testViewOfAllColumnsWithoutFilters(): void
    {
        $this->createView('everything');

        self::assertCount(4, $this->viewRows('everything'));
        self::assertSame(['id', 'name', 'amount'], array_keys($this->viewRows('everything')[0]));
    }

    public function testObjectInfoDescribesTheViewAndListsItInItsBucket(): void
    {
        $this->createView('cheap', ['id', 'amount'], [self::filter('amount', Operator::lt, ['8'])]);

        $info = self::unpack($this->runCommand($this->project, (new ObjectInfoCommand())
            ->setPath([self::BUCKET, 'cheap'])
            ->setExpectedObjectType(ObjectType::VIEW)), ObjectInfoResponse::class)->getViewInfo();
        self::assertNotNull($info);
        self::assertSame('cheap', $info->getViewName());
        self::assertSame([self::BUCKET], iterator_to_array($info->getPath()));
        self::assertSame(2, (int) $info->getRowsCount());
        $columns = [];
        foreach ($info->getColumns() as $column) {
            $columns[] = [$column->getName(), $column->getType(), $column->getLength()];
        }
        self::assertSame([['id', 'INTEGER', ''], ['amount', 'DECIMAL', '12,2']], $columns);

        $schema = self::unpack($this->runCommand($this->project, (new ObjectInfoCommand())
            ->setPath([self::BUCKET])
            ->setExpectedObjectType(ObjectType::SCHEMA)), ObjectInfoResponse::class)->getSchemaInfo();
        $objects = [];
        foreach ($schema?->getObjects() ?? [] as $object) {
            $objects[] = [$object->getObjectName(), $object->getObjectType()];
        }
        self::assertSame([['cheap', ObjectType::VIEW], ['orders', ObjectType::TABLE]], $objects);

        $this->assertDriverError(2008, fn () => $this->runCommand($this->project, (new ObjectInfoCommand())
            ->setPath([self::BUCKET, 'orders'])
            ->setExpectedObjectType(ObjectType::VIEW)));
    }

    public function testDropTableDropsAView(): void
    {
        $this->createView('gone', ['id']);
        $this->runCommand($this->project, (new DropTableCommand())->setPath([self::BUCKET])->setTableName('gone'));

        self::assertSame([], self::rows($this->pdo, 'SELECT id FROM duckstore.views'));
        self::assertCount(4, $this->tableRows('orders'));
    }

    public function testRefusals(): void
    {
        $this->createView('v');
        // the name is taken (by the view, or by a table)
        $this->assertDriverError(2006, fn () => $this->createView('v'));
        $this->assertDriverError(2006, fn () => $this->createView('orders'));
        // a column the table lacks; a source that does not exist
        $this->assertDriverError([2005, 3000], fn () => $this->createView('w', ['nope']));
        $this->assertDriverError(2004, fn () => $this->runCommand($this->project, (new CreateViewCommand())
            ->setPath([self::BUCKET])
            ->setViewName('w')
            ->setSourcePath([self::BUCKET])
            ->setSourceTableName('missing')));
        // a value cannot end the literal it is put in
        $this->createView('tricky', ['id'], [self::filter('name', Operator::eq, ["x') OR (1=1"])]);
        self::assertSame([], $this->viewRows('tricky'));
    }

    public function testForeignProjectCannotCreateAViewOverThisProjectsTable(): void
    {
        $other = $this->createProject();
        $this->assertDriverError([2003, 2004, 2007], fn () => $this->createView('stolen', [], [], $other));
        self::assertSame([], self::rows($this->pdo, "SELECT id FROM duckstore.views WHERE name = 'stolen'"));
    }
}

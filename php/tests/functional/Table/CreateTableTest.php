<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Info\ObjectType;
use Keboola\StorageDriver\Command\Table\CreateTableCommand;
use Keboola\StorageDriver\Command\Table\DropTableCommand;

final class CreateTableTest extends TableTestCase
{
    public function testCreatesTableAndAnswersItsInfo(): void
    {
        $response = $this->createTable('orders', [
            self::column('id', 'INTEGER', nullable: false),
            self::column('name', 'STRING', default: "o'neil"),
            self::column('amount', 'NUMERIC', '12,2'),
            self::column('active', 'BOOLEAN', nullable: false, default: 'true'),
        ], ['id']);

        self::assertSame(ObjectType::TABLE, $response->getObjectType());
        self::assertSame([self::BUCKET, 'orders'], iterator_to_array($response->getPath()));
        $info = $response->getTableInfo();
        self::assertNotNull($info);
        self::assertSame('orders', $info->getTableName());
        self::assertSame([self::BUCKET], iterator_to_array($info->getPath()));
        self::assertSame(['id'], iterator_to_array($info->getPrimaryKeysNames()));
        self::assertSame(0, (int) $info->getRowsCount());
        $columns = [];
        foreach ($info->getColumns() as $column) {
            $columns[$column->getName()] = [$column->getType(), $column->getLength(), $column->getNullable(), $column->getDefault()];
        }
        self::assertSame([
            'id' => ['INTEGER', '', false, ''],
            'name' => ['VARCHAR', '', true, "o'neil"],
            'amount' => ['DECIMAL', '12,2', true, ''],
            'active' => ['BOOLEAN', '', false, 'true'],
        ], $columns);

        // The catalog agrees, and defaults apply.
        $this->pdo->exec('INSERT INTO "in.c-driver"."orders" (id, amount) VALUES (1, 2.5)');
        self::assertSame(
            [['id' => 1, 'name' => "o'neil", 'amount' => '2.50', 'active' => true]],
            $this->tableRows('orders'),
        );
    }

    /** @return iterable<string, array{string, string, string}> */
    public function keboolaTypes(): iterable
    {
        yield 'STRING' => ['STRING', '255', 'VARCHAR'];
        yield 'INTEGER' => ['INTEGER', '', 'INTEGER'];
        yield 'NUMERIC without length' => ['NUMERIC', '', 'DECIMAL(38,9)'];
        yield 'NUMERIC with length' => ['NUMERIC', '10,3', 'DECIMAL(10,3)'];
        yield 'FLOAT' => ['FLOAT', '', 'DOUBLE'];
        yield 'BOOLEAN' => ['BOOLEAN', '', 'BOOLEAN'];
        yield 'DATE' => ['DATE', '', 'DATE'];
        yield 'TIMESTAMP' => ['TIMESTAMP', '', 'TIMESTAMP'];
        yield 'lower-case native' => ['bigint', '', 'BIGINT'];
    }

    /** @dataProvider keboolaTypes */
    public function testMapsKeboolaTypes(string $type, string $length, string $stored): void
    {
        $this->createTable('typed', [self::column('c', $type, $length)]);

        $rows = self::rows($this->pdo, 'SELECT type FROM duckstore.columns WHERE bucket = ? AND table_name = ?', [self::BUCKET, 'typed']);
        self::assertSame([['type' => $stored]], $rows);
    }

    public function testRefusesUnknownTypeAndWrongPath(): void
    {
        $this->assertDriverError(3000, fn () => $this->createTable('bad', [self::column('c', 'GEOGRAPHY')]));
        $this->assertDriverError(3000, fn () => $this->runCommand($this->project, (new CreateTableCommand())
            ->setPath(['main', self::BUCKET])
            ->setTableName('t')
            ->setColumns([self::column('c', 'STRING')])));
        self::assertSame([], self::rows($this->pdo, 'SELECT id FROM duckstore.tables'));
    }

    public function testForeignProjectCannotCreateOrDrop(): void
    {
        $this->createOrders();
        $other = $this->createProject();

        $this->assertDriverError([2003, 2004, 2007], fn () => $this->runCommand($other, (new DropTableCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')));
        $this->assertDriverError([2003, 2004, 2007], fn () => $this->runCommand($other, (new CreateTableCommand())
            ->setPath([self::BUCKET])
            ->setTableName('intruder')
            ->setColumns([self::column('c', 'STRING')])));
        self::assertSame(['orders'], array_column(self::rows($this->pdo, 'SELECT name FROM duckstore.tables'), 'name'));
    }

    public function testDropsTable(): void
    {
        $this->createOrders();
        $response = $this->runCommand($this->project, (new DropTableCommand())->setPath([self::BUCKET])->setTableName('orders'));

        self::assertNull($response->getCommandResponse());
        self::assertSame([], self::rows($this->pdo, 'SELECT id FROM duckstore.tables'));
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Info\ObjectInfoResponse;
use Keboola\StorageDriver\Command\Info\TableInfo;
use Keboola\StorageDriver\Command\Table\AddColumnCommand;
use Keboola\StorageDriver\Command\Table\AddPrimaryKeyCommand;
use Keboola\StorageDriver\Command\Table\AlterColumnCommand;
use Keboola\StorageDriver\Command\Table\DropColumnCommand;
use Keboola\StorageDriver\Command\Table\DropPrimaryKeyCommand;

final class AlterTableTest extends TableTestCase
{
    protected function setUp(): void
    {
        parent::setUp();
        $this->createOrders();
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'a', 1.00), (2, 'b', 2.00)");
    }

    public function testAddsColumnAndAnswersTableInfo(): void
    {
        $response = self::unpack($this->runCommand($this->project, (new AddColumnCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setColumnDefinition(self::column('note', 'STRING', default: 'n/a'))), ObjectInfoResponse::class);

        self::assertSame(['id', 'name', 'amount', 'note'], self::columnNames($response->getTableInfo()));
        self::assertSame(['n/a', 'n/a'], array_column($this->tableRows('orders'), 'note'));
    }

    public function testAltersNullableDefaultAndType(): void
    {
        $response = self::unpack($this->runCommand($this->project, (new AlterColumnCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setDesiredDefiniton(self::column('amount', 'NUMERIC', '14,3', nullable: false, default: '0'))
            ->setAttributesToUpdate(['nullable', 'default', 'length'])), ObjectInfoResponse::class);

        $amount = $response->getTableInfo()?->getColumns()[2];
        self::assertSame(['DECIMAL', '14,3', false, '0'], [$amount->getType(), $amount->getLength(), $amount->getNullable(), $amount->getDefault()]);
        self::assertSame(['1.000', '2.000'], array_column($this->tableRows('orders'), 'amount'));
    }

    public function testAlterThatDataRefusesLeavesTableAsItWas(): void
    {
        $this->assertDriverError(3000, fn () => $this->runCommand($this->project, (new AlterColumnCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setDesiredDefiniton(self::column('name', 'INTEGER'))
            ->setAttributesToUpdate(['type'])));

        self::assertSame(['a', 'b'], array_column($this->tableRows('orders'), 'name'));
    }

    public function testDropsColumn(): void
    {
        $response = $this->runCommand($this->project, (new DropColumnCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setColumnName('name'));

        self::assertNull($response->getCommandResponse());
        self::assertSame([['id' => 1, 'amount' => '1.00'], ['id' => 2, 'amount' => '2.00']], $this->tableRows('orders'));
    }

    public function testDropsAndAddsPrimaryKey(): void
    {
        $this->runCommand($this->project, (new DropPrimaryKeyCommand())->setPath([self::BUCKET])->setTableName('orders'));
        self::assertSame('', $this->primaryKey());

        $this->runCommand($this->project, (new AddPrimaryKeyCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setPrimaryKeysNames(['name', 'id']));
        self::assertSame('name,id', $this->primaryKey());
    }

    public function testPrimaryKeyOverDuplicatesIsRefused(): void
    {
        $this->runCommand($this->project, (new DropPrimaryKeyCommand())->setPath([self::BUCKET])->setTableName('orders'));
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'dup', 3.00)");

        $this->assertDriverError(3000, fn () => $this->runCommand($this->project, (new AddPrimaryKeyCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setPrimaryKeysNames(['id'])));
        self::assertSame('', $this->primaryKey());
        self::assertCount(3, $this->tableRows('orders'));
    }

    private function primaryKey(): string
    {
        return (string) self::rows($this->pdo, 'SELECT primary_key FROM duckstore.tables WHERE name = ?', ['orders'])[0]['primary_key'];
    }

    /** @return list<string> */
    private static function columnNames(?TableInfo $info): array
    {
        self::assertNotNull($info);
        $names = [];
        foreach ($info->getColumns() as $column) {
            $names[] = $column->getName();
        }
        return $names;
    }
}

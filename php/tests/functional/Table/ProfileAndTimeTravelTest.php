<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Table;

use Keboola\StorageDriver\Command\Info\ObjectInfoResponse;
use Keboola\StorageDriver\Command\Table\CreateProfileTableCommand;
use Keboola\StorageDriver\Command\Table\CreateProfileTableResponse;
use Keboola\StorageDriver\Command\Table\CreateTableFromTimeTravelCommand;
use Keboola\StorageDriver\Command\Table\CreateTableFromTimeTravelCommand\SourceTableMapping;
use Keboola\StorageDriver\Command\Table\ImportExportShared\Table;

final class ProfileAndTimeTravelTest extends TableTestCase
{
    public function testProfilesTable(): void
    {
        $this->createOrders();
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'a', 1.00), (2, 'a', 3.00)");

        $response = self::unpack($this->runCommand($this->project, (new CreateProfileTableCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')), CreateProfileTableResponse::class);

        self::assertSame('orders', $response->getTableName());
        $table = json_decode($response->getProfile(), true, 512, JSON_THROW_ON_ERROR);
        self::assertSame(2, $table['rows']);
        self::assertArrayNotHasKey('columns', $table);
        self::assertCount(3, $response->getColumns());
        $name = json_decode($response->getColumns()[1]->getProfile(), true, 512, JSON_THROW_ON_ERROR);
        self::assertSame('name', $response->getColumns()[1]->getName());
        self::assertSame(1, $name['distinct']);
        self::assertCount(1, self::rows($this->pdo, 'SELECT * FROM duckstore.table_profiles WHERE column_name = ?', ['amount']));
    }

    public function testCreatesTableFromAnEarlierState(): void
    {
        // Keep every state, so any instant is answerable.
        $this->pdo->exec("CALL set_snapshot_settings(level => 'project', time_travel_resolution_minutes => 0)");
        $this->createOrders();
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'first', 1.00)");
        sleep(1);
        $at = time();
        sleep(1);
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (2, 'later', 2.00)");

        $response = self::unpack($this->runCommand($this->project, (new CreateTableFromTimeTravelCommand())
            ->setSource((new SourceTableMapping())->setPath([self::BUCKET])->setTableName('orders'))
            ->setDestination((new Table())->setPath([self::BUCKET])->setTableName('orders_then'))
            ->setTimestamp($at)), ObjectInfoResponse::class);

        self::assertSame('orders_then', $response->getTableInfo()?->getTableName());
        self::assertSame(1, (int) $response->getTableInfo()?->getRowsCount());
        self::assertSame([['id' => 1, 'name' => 'first', 'amount' => '1.00']], $this->tableRows('orders_then'));
        self::assertCount(2, $this->tableRows('orders'));
    }
}

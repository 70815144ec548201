<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Info;

use Keboola\StorageDriver\Command\Info\ListSchemasCommand;
use Keboola\StorageDriver\Command\Info\ListSchemasResponse;
use Keboola\StorageDriver\Command\Info\ObjectInfoCommand;
use Keboola\StorageDriver\Command\Info\ObjectInfoResponse;
use Keboola\StorageDriver\Command\Info\ObjectType;
use Keboola\StorageDriver\Contract\Driver\Exception\ExceptionInterface;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;
use PDO;

final class ObjectInfoTest extends FunctionalTestCase
{
    private GenericBackendCredentials $project;

    private PDO $pdo;

    protected function setUp(): void
    {
        parent::setUp();
        $this->project = $this->createProject();
        $this->pdo = self::pdo($this->project);
        $this->pdo->exec('CREATE SCHEMA "in.c-a"');
        $this->pdo->exec('CREATE SCHEMA "out.c-b"');
        $this->pdo->exec('CREATE TABLE "in.c-a"."t2" (x STRING)');
        $this->pdo->exec('CREATE TABLE "in.c-a"."t1" (id BIGINT NOT NULL, v DECIMAL(10,2) DEFAULT 1.5, PRIMARY KEY (id))');
        $this->pdo->exec('INSERT INTO "in.c-a"."t1" VALUES (1, 2.25), (2, NULL)');
    }

    public function testDatabaseListsBuckets(): void
    {
        $response = $this->info(['main'], ObjectType::DATABASE);

        self::assertSame('databaseInfo', $response->getObjectInfo());
        self::assertSame([['in.c-a', ObjectType::SCHEMA], ['out.c-b', ObjectType::SCHEMA]], self::objects($response->getDatabaseInfo()?->getObjects() ?? []));
    }

    public function testSchemaListsTables(): void
    {
        $response = $this->info(['in.c-a'], ObjectType::SCHEMA);

        self::assertSame([['t1', ObjectType::TABLE], ['t2', ObjectType::TABLE]], self::objects($response->getSchemaInfo()?->getObjects() ?? []));
        self::assertSame([], self::objects($this->info(['out.c-b'], ObjectType::SCHEMA)->getSchemaInfo()?->getObjects() ?? []));
    }

    public function testTableDescribesColumnsKeyAndSize(): void
    {
        $info = $this->info(['in.c-a', 't1'], ObjectType::TABLE)->getTableInfo();

        self::assertNotNull($info);
        self::assertSame(['in.c-a'], iterator_to_array($info->getPath()));
        self::assertSame(['id'], iterator_to_array($info->getPrimaryKeysNames()));
        self::assertSame(2, (int) $info->getRowsCount());
        self::assertGreaterThan(0, (int) $info->getSizeBytes());
        $columns = [];
        foreach ($info->getColumns() as $column) {
            $columns[] = [$column->getName(), $column->getType(), $column->getLength(), $column->getNullable(), $column->getDefault()];
        }
        self::assertSame([['id', 'BIGINT', '', false, ''], ['v', 'DECIMAL', '10,2', true, '1.5']], $columns);
    }

    /** @return iterable<string, array{list<string>, int, int}> */
    public function refusals(): iterable
    {
        yield 'missing table' => [['in.c-a', 'nope'], ObjectType::TABLE, 2004];
        yield 'missing bucket' => [['in.c-nope'], ObjectType::SCHEMA, 2003];
        yield 'views do not exist' => [['in.c-a', 'v'], ObjectType::VIEW, 2008];
        yield 'table path too short' => [['in.c-a'], ObjectType::TABLE, 3000];
        yield 'schema path too long' => [['main', 'in.c-a'], ObjectType::SCHEMA, 3000];
    }

    /**
     * @dataProvider refusals
     * @param list<string> $path
     */
    public function testRefusals(array $path, int $type, int $code): void
    {
        try {
            $this->info($path, $type);
            self::fail('expected a driver exception');
        } catch (ExceptionInterface $e) {
            self::assertSame($code, $e->getCode(), $e->getMessage());
        }
    }

    public function testForeignProjectSeesNothingOfIt(): void
    {
        $other = $this->createProject();

        $schemas = self::unpack($this->runCommand($other, new ListSchemasCommand()), ListSchemasResponse::class);
        self::assertSame([], iterator_to_array($schemas->getSchemas()));
        try {
            $this->runCommand($other, (new ObjectInfoCommand())->setPath(['in.c-a', 't1'])->setExpectedObjectType(ObjectType::TABLE));
            self::fail('expected a driver exception');
        } catch (ExceptionInterface $e) {
            self::assertContains($e->getCode(), [2004, 2007]);
        }
    }

    public function testListSchemas(): void
    {
        $response = self::unpack($this->runCommand($this->project, new ListSchemasCommand()), ListSchemasResponse::class);

        self::assertSame(['in.c-a', 'out.c-b'], iterator_to_array($response->getSchemas()));
    }

    /** @param list<string> $path */
    private function info(array $path, int $type): ObjectInfoResponse
    {
        $response = self::unpack($this->runCommand($this->project, (new ObjectInfoCommand())
            ->setPath($path)
            ->setExpectedObjectType($type)), ObjectInfoResponse::class);
        self::assertSame($path, iterator_to_array($response->getPath()));
        self::assertSame($type, $response->getObjectType());
        return $response;
    }

    /**
     * @param iterable<\Keboola\StorageDriver\Command\Info\ObjectInfo> $objects
     * @return list<array{string, int}>
     */
    private static function objects(iterable $objects): array
    {
        $out = [];
        foreach ($objects as $object) {
            $out[] = [$object->getObjectName(), $object->getObjectType()];
        }
        return $out;
    }
}

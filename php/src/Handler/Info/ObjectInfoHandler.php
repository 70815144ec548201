<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Info;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Info\DatabaseInfo;
use Keboola\StorageDriver\Command\Info\ObjectInfo;
use Keboola\StorageDriver\Command\Info\ObjectInfoCommand;
use Keboola\StorageDriver\Command\Info\ObjectInfoResponse;
use Keboola\StorageDriver\Command\Info\ObjectType;
use Keboola\StorageDriver\Command\Info\SchemaInfo;
use Keboola\StorageDriver\Command\Info\TableInfo\TableColumn;
use Keboola\StorageDriver\Command\Info\ViewInfo;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Handler\Table\TableInfoReader;
use Keboola\StorageDriver\DuckDB\Handler\Table\TableRef;
use Keboola\StorageDriver\DuckDB\Sql\Db;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * Path shapes as in the BigQuery driver: DATABASE [database] lists the buckets (schemas) the
 * credentials see; SCHEMA [bucket] lists its tables and views; TABLE [bucket, table] and VIEW
 * [bucket, view] describe one.
 */
final class ObjectInfoHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof ObjectInfoCommand);
        $path = TableRef::toArray($command->getPath());
        $type = $command->getExpectedObjectType();
        $expectedLength = in_array($type, [ObjectType::DATABASE, ObjectType::SCHEMA], true) ? 1 : 2;
        if (count($path) !== $expectedLength || in_array('', $path, true)) {
            throw new NonRetryableDuckstoreException(sprintf(
                'ObjectInfo of a %s takes a path of %d element(s); got %d.',
                ObjectType::name($type),
                $expectedLength,
                count($path),
            ), ErrorCode::VALIDATION);
        }

        $db = $this->connections->db($credentials);
        $response = (new ObjectInfoResponse())->setPath($path)->setObjectType($type);
        return match ($type) {
            ObjectType::DATABASE => $response->setDatabaseInfo(
                (new DatabaseInfo())->setObjects($this->buckets($db)),
            ),
            ObjectType::SCHEMA => $response->setSchemaInfo(
                (new SchemaInfo())->setObjects($this->tables($db, $path[0])),
            ),
            ObjectType::TABLE => $response->setTableInfo((new TableInfoReader($db))->read($path[0], $path[1])),
            ObjectType::VIEW => $response->setViewInfo($this->view($db, $path[0], $path[1])),
            default => throw new NonRetryableDuckstoreException(
                sprintf('Unknown object type %d.', $type),
                ErrorCode::VALIDATION,
            ),
        };
    }

    /** @return list<ObjectInfo> */
    private function buckets(Db $db): array
    {
        $objects = [];
        foreach ($db->query('SELECT id FROM duckstore.buckets ORDER BY id') as $row) {
            $objects[] = (new ObjectInfo())->setObjectName((string) $row['id'])->setObjectType(ObjectType::SCHEMA);
        }
        return $objects;
    }

    /** @return list<ObjectInfo> */
    private function tables(Db $db, string $bucket): array
    {
        if ($db->one('SELECT id FROM duckstore.buckets WHERE id = :bucket', ['bucket' => $bucket]) === null) {
            throw new NonRetryableDuckstoreException(
                sprintf('Bucket "%s" not found.', $bucket),
                ErrorCode::SCHEMA_NOT_FOUND,
            );
        }
        $objects = [];
        $rows = $db->query(
            "SELECT name, 'table' AS kind FROM duckstore.tables WHERE bucket = :bucket"
            . " UNION ALL SELECT name, 'view' FROM duckstore.views WHERE bucket = :bucket2 ORDER BY name",
            ['bucket' => $bucket, 'bucket2' => $bucket],
        );
        foreach ($rows as $row) {
            $objects[] = (new ObjectInfo())
                ->setObjectName((string) $row['name'])
                ->setObjectType($row['kind'] === 'view' ? ObjectType::VIEW : ObjectType::TABLE);
        }
        return $objects;
    }

    /** A view's columns as bound when it was created, and its rows now (it is read to count them). */
    private function view(Db $db, string $bucket, string $name): ViewInfo
    {
        $found = $db->one(
            'SELECT name FROM duckstore.views WHERE bucket = :bucket AND name = :name',
            ['bucket' => $bucket, 'name' => $name],
        );
        if ($found === null) {
            throw new NonRetryableDuckstoreException(
                sprintf('View "%s" not found in bucket "%s".', $name, $bucket),
                ErrorCode::VIEW_NOT_FOUND,
            );
        }
        $columns = [];
        $rows = $db->query(
            'SELECT name, type FROM duckstore.columns WHERE bucket = :bucket AND table_name = :name ORDER BY position',
            ['bucket' => $bucket, 'name' => $name],
        );
        foreach ($rows as $column) {
            [$type, $length] = TableInfoReader::splitType((string) $column['type']);
            $columns[] = (new TableColumn())
                ->setName((string) $column['name'])
                ->setType($type)
                ->setLength($length)
                ->setNullable(true);
        }
        $count = $db->one(sprintf('SELECT count(*) AS n FROM %s', Quote::qualified($bucket, $name)));
        return (new ViewInfo())
            ->setPath([$bucket])
            ->setViewName($name)
            ->setColumns($columns)
            ->setRowsCount((int) ($count['n'] ?? 0));
    }
}

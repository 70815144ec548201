<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\CreateProfileTableCommand;
use Keboola\StorageDriver\Command\Table\CreateProfileTableResponse;
use Keboola\StorageDriver\Command\Table\CreateProfileTableResponse\Column;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * CALL profile_table: duckstore computes and keeps the statistics. The table profile is its JSON
 * without the column list; each column's profile is that column's JSON object.
 */
final class CreateProfileTableHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateProfileTableCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());

        $row = $this->connections->db($credentials)->call('profile_table', ['table' => $ref->id()])[0];
        /** @var array<string, mixed> $profile */
        $profile = json_decode((string) $row['profile'], true, 512, JSON_THROW_ON_ERROR);
        $columns = [];
        foreach ($profile['columns'] ?? [] as $column) {
            $columns[] = (new Column())
                ->setName((string) $column['name'])
                ->setProfile(json_encode($column, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION));
        }
        unset($profile['columns']);

        return (new CreateProfileTableResponse())
            ->setPath([$ref->bucket])
            ->setTableName($ref->table)
            ->setProfile(json_encode($profile, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION))
            ->setColumns($columns);
    }
}

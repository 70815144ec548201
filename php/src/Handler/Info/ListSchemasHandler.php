<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Info;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Info\ListSchemasCommand;
use Keboola\StorageDriver\Command\Info\ListSchemasResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** The buckets the credentials see (linked ones included), from duckstore.buckets. */
final class ListSchemasHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof ListSchemasCommand);
        $schemas = array_map(
            static fn (array $row): string => (string) $row['id'],
            $this->connections->db($credentials)->query('SELECT id FROM duckstore.buckets ORDER BY id'),
        );
        return (new ListSchemasResponse())->setSchemas($schemas);
    }
}

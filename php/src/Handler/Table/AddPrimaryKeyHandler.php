<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\AddPrimaryKeyCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * ALTER TABLE … ADD PRIMARY KEY. duckstore enforces keys, so duplicates always refuse the change
 * (23505) and leave the table as it was; skipDuplicatesCheck cannot turn that off.
 */
final class AddPrimaryKeyHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof AddPrimaryKeyCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());
        $key = TableRef::toArray($command->getPrimaryKeysNames());
        if ($key === []) {
            throw new NonRetryableDuckstoreException('The primary key needs at least one column.', ErrorCode::VALIDATION);
        }

        $this->connections->db($credentials)->exec(sprintf(
            'ALTER TABLE %s ADD PRIMARY KEY (%s)',
            $ref->sql(),
            implode(', ', array_map(Quote::ident(...), $key)),
        ));
        return null;
    }
}

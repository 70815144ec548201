<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\DropColumnCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** ALTER TABLE … DROP COLUMN; duckstore refuses a key column (2BP01) and the last one (42P16). */
final class DropColumnHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropColumnCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());
        if ($command->getColumnName() === '') {
            throw new NonRetryableDuckstoreException('The column name is missing.', ErrorCode::VALIDATION);
        }

        $this->connections->db($credentials)->exec(
            sprintf('ALTER TABLE %s DROP COLUMN %s', $ref->sql(), Quote::ident($command->getColumnName())),
        );
        return null;
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Bucket;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Bucket\DropBucketCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** DROP SCHEMA; with tables only when the command cascades (else duckstore answers 2BP01). */
final class DropBucketHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof DropBucketCommand);
        $sql = sprintf(
            'DROP SCHEMA %s%s%s',
            $command->getIgnoreErrors() ? 'IF EXISTS ' : '',
            Quote::ident($command->getBucketObjectName()),
            $command->getIsCascade() ? ' CASCADE' : '',
        );
        $this->connections->db($credentials)->exec($sql);
        return null;
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Bucket;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Bucket\GrantBucketAccessToReadOnlyRoleCommand;
use Keboola\StorageDriver\Command\Bucket\GrantBucketAccessToReadOnlyRoleResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

/**
 * Lets the project's read-only (branch_read) tokens read the bucket. A path means BigQuery's
 * external bucket (a listing to register), which duckstore has no counterpart for.
 */
final class GrantBucketAccessToReadOnlyRoleHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof GrantBucketAccessToReadOnlyRoleCommand);
        if (count($command->getPath()) > 0) {
            throw new CommandNotSupportedException($command::class . ' with an external bucket path');
        }
        $bucket = $command->getDestinationObjectName();
        $this->connections->db($credentials)->call('grant_bucket_read', ['bucket' => $bucket]);
        return (new GrantBucketAccessToReadOnlyRoleResponse())->setCreateBucketObjectName($bucket);
    }
}

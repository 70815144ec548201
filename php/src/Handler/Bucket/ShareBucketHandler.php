<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Bucket;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Bucket\ShareBucketCommand;
use Keboola\StorageDriver\Command\Bucket\ShareBucketResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * Keboola shares a bucket without naming the projects that may link it (Connection checks
 * that), so the bucket is shared with every project: share_bucket without a project.
 */
final class ShareBucketHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof ShareBucketCommand);
        $bucket = $command->getSourceBucketObjectName();
        $this->connections->db($credentials)->call('share_bucket', ['bucket' => $bucket]);
        $share = new ShareRoleName((int) $command->getSourceProjectId(), $bucket);
        return (new ShareBucketResponse())->setBucketShareRoleName((string) $share);
    }
}

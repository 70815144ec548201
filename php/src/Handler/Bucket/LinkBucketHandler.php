<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Bucket;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Bucket\LinkBucketCommand;
use Keboola\StorageDriver\Command\Bucket\LinkedBucketResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * With the target project's credentials: links the shared bucket named by sourceShareRoleName
 * as targetBucketId ("{stage}.c-{name}").
 */
final class LinkBucketHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof LinkBucketCommand);
        $source = ShareRoleName::parse($command->getSourceShareRoleName());
        $target = $command->getTargetBucketId();
        if (preg_match('/^(in|out)\.c-(.+)$/', $target, $m) !== 1) {
            throw new NonRetryableDuckstoreException(
                sprintf('Bucket id "%s" is not "{in|out}.c-{name}".', $target),
                ErrorCode::VALIDATION,
            );
        }
        $this->connections->db($credentials)->call('link_bucket', [
            'source_project' => $source->projectId,
            'source_bucket' => $source->bucket,
            'stage' => $m[1],
            'name' => $m[2],
        ]);
        return (new LinkedBucketResponse())->setLinkedBucketObjectName($target);
    }
}

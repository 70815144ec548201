<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Bucket;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Bucket\CreateBucketCommand;
use Keboola\StorageDriver\Command\Bucket\CreateBucketResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Sql\Naming;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** A bucket is a schema named by Keboola's bucket id; in a dev branch it lives only there. */
final class CreateBucketHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateBucketCommand);
        $bucket = $command->getBucketId();
        assert($bucket !== '', 'bucketId is required');
        $database = $command->getBranchId() !== '' && !$command->getIsBranchDefault()
            ? Naming::branchName($command->getBranchId())
            : null;
        $this->connections->db($credentials, $database)->exec('CREATE SCHEMA ' . Quote::ident($bucket));
        return (new CreateBucketResponse())
            ->setPath([$bucket])
            ->setCreateBucketObjectName($bucket);
    }
}

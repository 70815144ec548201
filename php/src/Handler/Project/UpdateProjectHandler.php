<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Project;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Project\UpdateProjectCommand;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** Region and timezone do not change anything in duckstore (one host, UTC timestamps). */
final class UpdateProjectHandler extends BaseHandler
{
    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($command instanceof UpdateProjectCommand);
        return null;
    }
}

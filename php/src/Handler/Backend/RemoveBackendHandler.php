<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Backend;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Backend\RemoveBackendCommand;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** Init created nothing, so removing the backend has nothing to undo. */
final class RemoveBackendHandler extends BaseHandler
{
    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($command instanceof RemoveBackendCommand);
        return null;
    }
}

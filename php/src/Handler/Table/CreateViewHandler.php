<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\CreateViewCommand;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

/** duckstore has no views: refuse loudly rather than pretend one was created. */
final class CreateViewHandler extends BaseHandler
{
    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($command instanceof CreateViewCommand);
        throw new CommandNotSupportedException(CreateViewCommand::class);
    }
}

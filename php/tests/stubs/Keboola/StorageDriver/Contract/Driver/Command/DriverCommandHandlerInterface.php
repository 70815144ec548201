<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Contract\Driver\Command;

use Google\Protobuf\Internal\Message;

/** Stand-in for storage-driver-common v7.23.0: one command's handler. */
interface DriverCommandHandlerInterface
{
    /**
     * @param string[] $features
     * @param \Keboola\StorageDriver\Command\Common\RuntimeOptions $runtimeOptions
     */
    public function __invoke(
        Message $credentials,
        Message $command,
        array $features,
        Message $runtimeOptions,
    ): ?Message;
}

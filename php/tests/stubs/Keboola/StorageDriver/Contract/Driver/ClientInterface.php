<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Contract\Driver;

use Google\Protobuf\Internal\Message;

/** Stand-in for storage-driver-common v7.23.0: the driver's entry point. */
interface ClientInterface
{
    /**
     * @param string[] $features
     * @param \Keboola\StorageDriver\Command\Common\RuntimeOptions $runtimeOptions
     */
    public function runCommand(
        Message $credentials,
        Message $command,
        array $features,
        Message $runtimeOptions,
    ): ?Message;
}

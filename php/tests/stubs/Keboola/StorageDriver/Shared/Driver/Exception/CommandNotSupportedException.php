<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Shared\Driver\Exception;

use Keboola\StorageDriver\Contract\Driver\Exception\NonRetryableExceptionInterface;

/**
 * Stand-in for storage-driver-common v7.23.0: final, one parameter named $command (named
 * arguments must use that name), code 0 as upstream leaves it.
 */
final class CommandNotSupportedException extends Exception implements NonRetryableExceptionInterface
{
    public function __construct(string $command)
    {
        parent::__construct(sprintf('Command "%s" not supported.', $command));
    }
}

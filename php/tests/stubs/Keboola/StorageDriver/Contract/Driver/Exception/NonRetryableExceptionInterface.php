<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Contract\Driver\Exception;

/** Stand-in for storage-driver-common v7.23.0: an error the same command will hit again. */
interface NonRetryableExceptionInterface extends ExceptionInterface
{
    public function isRetryable(): bool;
}

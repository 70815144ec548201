<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Exception;

use Keboola\StorageDriver\Contract\Driver\Exception\NonRetryableExceptionInterface;

/** A failure that the same command will hit again: a missing object, bad data, no permission. */
final class NonRetryableDuckstoreException extends DuckstoreException implements NonRetryableExceptionInterface
{
    public function isRetryable(): bool
    {
        return false;
    }
}

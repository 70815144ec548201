<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Shared\Driver\Exception;

use Keboola\StorageDriver\Contract\Driver\Exception\NonRetryableExceptionInterface;

class CommandNotSupportedException extends Exception implements NonRetryableExceptionInterface
{
    public function __construct(string $commandName)
    {
        parent::__construct(sprintf('Command "%s" not supported.', $commandName));
    }
}

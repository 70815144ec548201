<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Shared\Driver\Exception;

use Keboola\StorageDriver\Contract\Driver\Exception\ExceptionInterface;
use Keboola\StorageDriver\Contract\Driver\Exception\NonRetryableExceptionInterface;

/**
 * Stand-in for storage-driver-common v7.23.0. Like upstream it declares no constructor, so PHP's
 * own \Exception::__construct($message = '', $code = 0, $previous = null) applies: three
 * arguments at most. Context is set afterwards with setContext().
 */
class Exception extends \Exception implements ExceptionInterface
{
    /** @var mixed[] */
    private array $context = [];

    public function isRetryable(): bool
    {
        return !($this instanceof NonRetryableExceptionInterface);
    }

    /** @param mixed[] $context */
    public function setContext(array $context): void
    {
        $this->context = $context;
    }

    /** @return mixed[] */
    public function getContext(): array
    {
        return $this->context;
    }
}

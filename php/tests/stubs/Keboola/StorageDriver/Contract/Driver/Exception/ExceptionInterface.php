<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Contract\Driver\Exception;

use Keboola\CommonExceptions\ApplicationExceptionInterface;
use Keboola\CommonExceptions\ExceptionWithContextInterface;

interface ExceptionInterface extends ApplicationExceptionInterface, ExceptionWithContextInterface
{
    public function isRetryable(): bool;
}

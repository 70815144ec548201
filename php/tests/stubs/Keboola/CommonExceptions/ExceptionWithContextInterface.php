<?php

declare(strict_types=1);

namespace Keboola\CommonExceptions;

use Throwable;

/** Stand-in for keboola/common-exceptions 1.x: an exception carrying structured context. */
interface ExceptionWithContextInterface extends Throwable
{
    /** @return array<mixed> */
    public function getContext(): array;
}

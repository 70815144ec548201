<?php

declare(strict_types=1);

namespace Keboola\CommonExceptions;

use Throwable;

interface ApplicationExceptionInterface extends Throwable
{
}

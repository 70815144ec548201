<?php

declare(strict_types=1);

namespace Keboola\CommonExceptions;

use Throwable;

/** Stand-in for keboola/common-exceptions 1.x: an error of the application (not the user's). */
interface ApplicationExceptionInterface extends Throwable
{
}

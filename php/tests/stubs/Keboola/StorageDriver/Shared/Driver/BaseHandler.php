<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Shared\Driver;

use Keboola\StorageDriver\Contract\Driver\Command\DriverCommandHandlerInterface;
use Keboola\StorageDriver\Shared\Driver\Logger\UserInMemoryLogger;

abstract class BaseHandler implements DriverCommandHandlerInterface
{
    protected UserInMemoryLogger $userLogger;

    public function __construct()
    {
        $this->userLogger = new UserInMemoryLogger();
    }

    /** @return \Keboola\StorageDriver\Command\Common\LogMessage[] */
    public function getMessages(): array
    {
        return $this->userLogger->getLogs();
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Shared\Driver;

use Google\Protobuf\Internal\RepeatedField;
use Keboola\StorageDriver\Contract\Driver\Command\DriverCommandHandlerInterface;
use Keboola\StorageDriver\Shared\Driver\Logger\UserInMemoryLogger;
use Psr\Log\LoggerInterface;
use Psr\Log\NullLogger;

/**
 * Stand-in for storage-driver-common v7.23.0: a handler with an internal PSR-3 logger (for
 * debugging; a NullLogger unless given) and a user logger whose messages go back to the caller
 * as a RepeatedField of LogMessage.
 */
abstract class BaseHandler implements DriverCommandHandlerInterface
{
    protected LoggerInterface $internalLogger;

    protected UserInMemoryLogger $userLogger;

    public function __construct(?LoggerInterface $internalLogger = null)
    {
        $this->internalLogger = $internalLogger ?? new NullLogger();
        $this->userLogger = new UserInMemoryLogger();
    }

    public function setInternalLogger(LoggerInterface $logger): self
    {
        $this->internalLogger = $logger;
        return $this;
    }

    /** @return RepeatedField<\Keboola\StorageDriver\Command\Common\LogMessage> */
    public function getMessages(): RepeatedField
    {
        return $this->userLogger->getLogs();
    }
}

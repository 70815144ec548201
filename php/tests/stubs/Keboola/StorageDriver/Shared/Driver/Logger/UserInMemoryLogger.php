<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Shared\Driver\Logger;

use Google\Protobuf\Any;
use Google\Protobuf\Internal\GPBType;
use Google\Protobuf\Internal\RepeatedField;
use Google\Protobuf\StringValue;
use Keboola\StorageDriver\Command\Common\LogMessage;
use Keboola\StorageDriver\Command\Common\LogMessage\Level;
use Psr\Log\AbstractLogger;
use Psr\Log\InvalidArgumentException;
use Psr\Log\LogLevel;

/**
 * Stand-in for storage-driver-common v7.23.0: a PSR-3 logger (string levels, LogLevel::*) that
 * keeps the messages meant for the user as LogMessage entries in a RepeatedField. Every entry
 * carries its context, JSON-encoded in a StringValue packed into an Any ("[]" when empty).
 */
class UserInMemoryLogger extends AbstractLogger
{
    /** @var RepeatedField<LogMessage> */
    private RepeatedField $logs;

    public function __construct()
    {
        $this->logs = new RepeatedField(GPBType::MESSAGE, LogMessage::class);
    }

    /**
     * @param mixed $level one of Psr\Log\LogLevel's strings
     * @param string|\Stringable $message
     * @param array<mixed> $context
     * @throws \JsonException when the context cannot be encoded
     */
    public function log($level, $message, array $context = []): void
    {
        $entry = new LogMessage();
        $entry->setLevel(self::level($level));
        $entry->setMessage((string) $message);
        $packed = new Any();
        $packed->pack((new StringValue())->setValue(json_encode($context, JSON_THROW_ON_ERROR)));
        $entry->setContext($packed);
        $this->logs[] = $entry;
    }

    /** @return RepeatedField<LogMessage> */
    public function getLogs(): RepeatedField
    {
        return $this->logs;
    }

    private static function level(mixed $level): int
    {
        return match ($level) {
            LogLevel::EMERGENCY => Level::Emergency,
            LogLevel::ALERT => Level::Alert,
            LogLevel::CRITICAL => Level::Critical,
            LogLevel::ERROR => Level::Error,
            LogLevel::WARNING => Level::Warning,
            LogLevel::NOTICE => Level::Notice,
            LogLevel::INFO => Level::Informational,
            LogLevel::DEBUG => Level::Debug,
            // Upstream accepts only these strings too (an integer level fails there).
            default => throw new InvalidArgumentException(sprintf('Unknown log level %s.', var_export($level, true))),
        };
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\Shared\Driver\Logger;

use Google\Protobuf\StringValue;
use Keboola\StorageDriver\Command\Common\LogMessage;
use Keboola\StorageDriver\Command\Common\LogMessage\Level;

/** Collects messages meant for the end user; the context travels as JSON in a StringValue. */
final class UserInMemoryLogger
{
    /** @var LogMessage[] */
    private array $messages = [];

    /** @param array<string, mixed> $context */
    public function warning(string $message, array $context = []): void
    {
        $this->log(Level::Warning, $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function info(string $message, array $context = []): void
    {
        $this->log(Level::Informational, $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function error(string $message, array $context = []): void
    {
        $this->log(Level::Error, $message, $context);
    }

    /** @param array<string, mixed> $context */
    public function log(int $level, string $message, array $context = []): void
    {
        $entry = (new LogMessage())->setLevel($level)->setMessage($message);
        if ($context !== []) {
            $any = new \Google\Protobuf\Any();
            $any->pack((new StringValue())->setValue((string) json_encode($context)));
            $entry->setContext($any);
        }
        $this->messages[] = $entry;
    }

    /** @return LogMessage[] */
    public function getLogs(): array
    {
        return $this->messages;
    }
}

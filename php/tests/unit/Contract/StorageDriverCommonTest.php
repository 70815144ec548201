<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Unit\Contract;

use Google\Protobuf\Internal\Message;
use Google\Protobuf\Internal\RepeatedField;
use Google\Protobuf\StringValue;
use Keboola\CommonExceptions\ApplicationExceptionInterface;
use Keboola\CommonExceptions\ExceptionWithContextInterface;
use Keboola\StorageDriver\Command\Common\LogMessage\Level;
use Keboola\StorageDriver\Contract\Driver\Exception\ExceptionInterface;
use Keboola\StorageDriver\Contract\Driver\Exception\NonRetryableExceptionInterface;
use Keboola\StorageDriver\DuckDB\Exception\DuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;
use Keboola\StorageDriver\Shared\Driver\Exception\Exception;
use Keboola\StorageDriver\Shared\Driver\Logger\UserInMemoryLogger;
use PHPUnit\Framework\TestCase;
use Psr\Log\LoggerInterface;
use Psr\Log\LogLevel;
use ReflectionClass;
use ReflectionMethod;
use ReflectionNamedType;

/**
 * What the driver relies on in keboola/storage-driver-common v7.23.0. Runs against whichever
 * package the bootstrap loaded: the stand-ins in tests/stubs (keeping them upstream's shape) or
 * upstream itself (DUCKSTORE_PHP_UPSTREAM; checking that these facts are upstream's).
 */
final class StorageDriverCommonTest extends TestCase
{
    public function testTheBaseExceptionHasPhpsConstructorAndASetterForContext(): void
    {
        $constructor = (new ReflectionClass(Exception::class))->getConstructor();
        self::assertNotNull($constructor);
        self::assertSame(\Exception::class, $constructor->getDeclaringClass()->getName());
        self::assertSame(3, $constructor->getNumberOfParameters());

        $e = new Exception('m', 7, new \RuntimeException('cause'));
        self::assertSame([], $e->getContext());
        $e->setContext(['sqlState' => '42P01']);
        self::assertSame(['sqlState' => '42P01'], $e->getContext());
        self::assertTrue($e->isRetryable());
        self::assertInstanceOf(ExceptionInterface::class, $e);
        self::assertInstanceOf(ApplicationExceptionInterface::class, $e);
        self::assertInstanceOf(ExceptionWithContextInterface::class, $e);

        $this->expectException(\ArgumentCountError::class);
        new Exception('m', 7, null, ['context' => 'is not a constructor argument']); // @phpstan-ignore-line
    }

    public function testTheDriversExceptionsAreBuiltThatWay(): void
    {
        $retryable = new DuckstoreException('m', ErrorCode::CONNECTION);
        $retryable->setContext(['sqlState' => '08006']);
        self::assertSame('08006', $retryable->getSqlState());
        self::assertTrue($retryable->isRetryable());

        $final = new NonRetryableDuckstoreException('m', ErrorCode::VALIDATION, $retryable);
        self::assertInstanceOf(NonRetryableExceptionInterface::class, $final);
        self::assertFalse($final->isRetryable());
        self::assertSame('', $final->getSqlState());
    }

    public function testCommandNotSupportedIsFinalAndTakesTheCommandByName(): void
    {
        $class = new ReflectionClass(CommandNotSupportedException::class);
        self::assertTrue($class->isFinal());
        $parameters = $class->getConstructor()?->getParameters() ?? [];
        self::assertCount(1, $parameters);
        self::assertSame('command', $parameters[0]->getName());

        $e = new CommandNotSupportedException(command: 'Foo');
        self::assertSame('Command "Foo" not supported.', $e->getMessage());
        self::assertSame(0, $e->getCode());
        self::assertFalse($e->isRetryable());
        self::assertInstanceOf(NonRetryableExceptionInterface::class, $e);
    }

    public function testTheDriversCodesAreTheContracts(): void
    {
        $pairs = [
            [ErrorCode::UNKNOWN, ExceptionInterface::ERR_UNKNOWN],
            [ErrorCode::COMMAND_NOT_SUPPORTED, ExceptionInterface::ERR_DRIVER_COMMAND_NOT_SUPPORTED],
            [ErrorCode::CONNECTION_TIMEOUT, ExceptionInterface::ERR_TIMEOUT],
            [ErrorCode::CONNECTION, ExceptionInterface::ERR_CONNECTION],
            [ErrorCode::AUTHENTICATION, ExceptionInterface::ERR_AUTH],
            [ErrorCode::DATABASE_MISMATCH, ExceptionInterface::ERR_DATABASE_MISMATCH],
            [ErrorCode::OBJECT_NOT_FOUND, ExceptionInterface::ERR_NOT_FOUND],
            [ErrorCode::UNKNOWN_OBJECT, ExceptionInterface::ERR_UNKNOWN_OBJECT],
            [ErrorCode::DATABASE_NOT_FOUND, ExceptionInterface::ERR_DATABASE_NOT_FOUND],
            [ErrorCode::SCHEMA_NOT_FOUND, ExceptionInterface::ERR_SCHEMA_NOT_FOUND],
            [ErrorCode::TABLE_NOT_FOUND, ExceptionInterface::ERR_TABLE_NOT_FOUND],
            [ErrorCode::COLUMN_NOT_FOUND, ExceptionInterface::ERR_COLUMN_NOT_FOUND],
            [ErrorCode::OBJECT_ALREADY_EXISTS, ExceptionInterface::ERR_OBJECT_ALREADY_EXISTS],
            [ErrorCode::PERMISSION_DENIED, ExceptionInterface::ERR_OBJECT_PERMISSION_DENIED],
            [ErrorCode::VIEW_NOT_FOUND, ExceptionInterface::ERR_VIEW_NOT_FOUND],
            [ErrorCode::VALIDATION, ExceptionInterface::ERR_VALIDATION],
            [ErrorCode::IMPORT, ExceptionInterface::ERR_UNKNOWN_IMPORT],
            [ErrorCode::INVALID_SOURCE_DATA, ExceptionInterface::ERR_MANDATORY_INVALID_SOURCE_DATA],
            [ErrorCode::EXPORT, ExceptionInterface::ERR_UNKNOWN_EXPORT],
            [ErrorCode::SQL, ExceptionInterface::ERR_UNKNOWN_SQL],
            [ErrorCode::INVALID_SQL, ExceptionInterface::ERR_INVALID_SQL],
            [ErrorCode::QUERY_TIMEOUT, ExceptionInterface::ERR_QUERY_TIMEOUT],
        ];
        foreach ($pairs as [$ours, $contract]) {
            self::assertSame($contract, $ours);
        }
        self::assertSame(4201, ExceptionInterface::ERR_MANDATORY_FILE_NOT_FOUND);
        self::assertSame(4203, ExceptionInterface::ERR_INVALID_FILE_PARAMS);
    }

    public function testHandlersAnswerTheirMessagesAsARepeatedField(): void
    {
        $method = new ReflectionMethod(BaseHandler::class, 'getMessages');
        $type = $method->getReturnType();
        self::assertInstanceOf(ReflectionNamedType::class, $type);
        self::assertSame(RepeatedField::class, $type->getName());

        $constructor = (new ReflectionClass(BaseHandler::class))->getConstructor();
        $parameters = $constructor?->getParameters() ?? [];
        self::assertCount(1, $parameters);
        self::assertTrue($parameters[0]->isOptional());
        self::assertSame(LoggerInterface::class, (string) $parameters[0]->getType()?->getName());

        $handler = new class extends BaseHandler {
            public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
            {
                $this->userLogger->warning('careful', ['table' => 't']);
                return null;
            }
        };
        self::assertCount(0, $handler->getMessages());
        $handler(new StringValue(), new StringValue(), [], new StringValue());
        self::assertCount(1, $handler->getMessages());
        self::assertSame('careful', $handler->getMessages()[0]->getMessage());
    }

    public function testTheUserLoggerIsAPsr3LoggerWithStringLevels(): void
    {
        $logger = new UserInMemoryLogger();
        self::assertInstanceOf(LoggerInterface::class, $logger);
        $levels = [
            LogLevel::EMERGENCY => Level::Emergency,
            LogLevel::ALERT => Level::Alert,
            LogLevel::CRITICAL => Level::Critical,
            LogLevel::ERROR => Level::Error,
            LogLevel::WARNING => Level::Warning,
            LogLevel::NOTICE => Level::Notice,
            LogLevel::INFO => Level::Informational,
            LogLevel::DEBUG => Level::Debug,
        ];
        foreach (array_keys($levels) as $level) {
            $logger->{$level}("a $level message");
        }
        $logger->log(LogLevel::INFO, 'with context', ['fileId' => 3]);

        $logs = $logger->getLogs();
        self::assertInstanceOf(RepeatedField::class, $logs);
        self::assertCount(9, $logs);
        $i = 0;
        foreach ($levels as $level => $protoLevel) {
            self::assertSame($protoLevel, $logs[$i]->getLevel());
            self::assertSame("a $level message", $logs[$i]->getMessage());
            ++$i;
        }
        self::assertSame('[]', self::context($logs[0]));
        self::assertSame('{"fileId":3}', self::context($logs[8]));
    }

    public function testTheUserLoggerRefusesIntegerLevels(): void
    {
        $logger = new UserInMemoryLogger();
        try {
            $logger->log(Level::Warning, 'an integer level');
            self::fail('an integer level was accepted');
        } catch (\Throwable $e) {
            self::assertNotInstanceOf(\PHPUnit\Framework\AssertionFailedError::class, $e);
        }
        self::assertCount(0, $logger->getLogs());
    }

    private static function context(\Keboola\StorageDriver\Command\Common\LogMessage $message): string
    {
        $value = $message->getContext()?->unpack();
        self::assertInstanceOf(StringValue::class, $value);
        return $value->getValue();
    }
}

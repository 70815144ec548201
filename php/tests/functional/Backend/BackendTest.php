<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Backend;

use Keboola\StorageDriver\Command\Backend\InitBackendCommand;
use Keboola\StorageDriver\Command\Backend\InitBackendResponse;
use Keboola\StorageDriver\Command\Backend\RemoveBackendCommand;
use Keboola\StorageDriver\DuckDB\Exception\DuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;

final class BackendTest extends FunctionalTestCase
{
    public function testInitChecksTheServerAndRemoveDoesNothing(): void
    {
        $response = $this->runCommand(self::adminCredentials(), new InitBackendCommand());
        self::unpack($response, InitBackendResponse::class);
        self::assertCount(0, $response->getMessages());

        $response = $this->runCommand(self::adminCredentials(), new RemoveBackendCommand());
        self::assertNull($response->getCommandResponse());
    }

    public function testInitWithAWrongSecretIsAnAuthenticationError(): void
    {
        try {
            $this->runCommand(self::adminCredentials()->setSecret('not-the-admin-token'), new InitBackendCommand());
            self::fail('expected an authentication error');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::AUTHENTICATION, $e->getCode());
            self::assertFalse($e->isRetryable());
        }
    }

    public function testAnUnreachableServerIsARetryableConnectionError(): void
    {
        try {
            $this->runCommand(self::adminCredentials()->setPort(1), new InitBackendCommand());
            self::fail('expected a connection error');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::CONNECTION, $e->getCode());
            self::assertTrue($e->isRetryable());
        }
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Project;

use Keboola\StorageDriver\Command\Project\CreateDevBranchCommand;
use Keboola\StorageDriver\Command\Project\CreateDevBranchResponse;
use Keboola\StorageDriver\Command\Project\DropDevBranchCommand;
use Keboola\StorageDriver\DuckDB\Exception\DuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;
use PDOException;

final class DevBranchTest extends FunctionalTestCase
{
    public function testCreateOpensABranchAndDropRemovesIt(): void
    {
        $credentials = $this->createProject();
        $response = $this->runCommand($credentials, (new CreateDevBranchCommand())
            ->setProjectId((string) self::projectIdOf($credentials))
            ->setBranchId('1234'));
        $branch = self::unpack($response, CreateDevBranchResponse::class)->getDevBranchReadOnlyRoleName();
        self::assertSame('branch-1234', $branch);

        $names = array_column(self::rows(self::pdo($credentials), 'SELECT name FROM duckstore.branches ORDER BY id'), 'name');
        self::assertSame(['main', 'branch-1234'], $names);
        // The branch name is the dbname that opens it.
        self::assertSame('branch-1234', self::rows(self::pdo($credentials, $branch),
            'SELECT name FROM duckstore.branches WHERE NOT is_default')[0]['name']);

        $response = $this->runCommand($credentials, (new DropDevBranchCommand())->setDevBranchReadOnlyRoleName($branch));
        self::assertNull($response->getCommandResponse());
        self::assertCount(1, self::rows(self::pdo($credentials), 'SELECT id FROM duckstore.branches'));
        $this->expectException(PDOException::class);
        self::pdo($credentials, $branch);
    }

    public function testDroppingAMissingBranchWarns(): void
    {
        $response = $this->runCommand($this->createProject(),
            (new DropDevBranchCommand())->setDevBranchReadOnlyRoleName('branch-404'));
        self::assertCount(1, $response->getMessages());
        self::assertStringContainsString('branch-404', $response->getMessages()[0]->getMessage());
    }

    public function testAForeignProjectsSecretIsRefused(): void
    {
        $mine = $this->createProject();
        $foreign = $this->createProject();
        try {
            $this->runCommand(self::credentials($mine->getPrincipal(), $foreign->getSecret()),
                (new CreateDevBranchCommand())->setBranchId('9'));
            self::fail('expected an authentication error');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::AUTHENTICATION, $e->getCode());
        }
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Project;

use Keboola\StorageDriver\Command\Project\CreateProjectCommand;
use Keboola\StorageDriver\Command\Project\CreateProjectResponse;
use Keboola\StorageDriver\Command\Project\DropProjectCommand;
use Keboola\StorageDriver\Command\Project\UpdateProjectCommand;
use Keboola\StorageDriver\DuckDB\Exception\DuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;
use PDOException;

final class ProjectTest extends FunctionalTestCase
{
    public function testCreateAnswersWorkingCredentialsAndDropRemovesTheProject(): void
    {
        // Its own id, apart from the ones createProject() hands out (a dropped id never returns).
        $id = (string) (getmypid() * 100000 + 99999);
        $response = $this->runCommand(self::adminCredentials(), (new CreateProjectCommand())
            ->setStackPrefix('kbc')
            ->setProjectId($id)
            ->setDataRetentionTime(3));
        $project = self::unpack($response, CreateProjectResponse::class);
        self::assertStringStartsWith($id . '-', $project->getProjectUserName());
        self::assertStringStartsWith($project->getProjectUserName() . '-', $project->getProjectPassword());
        self::assertSame('main', $project->getProjectDatabaseName());
        self::assertNotSame('', $project->getProjectRoleName());
        self::assertNotSame('', $project->getProjectReadOnlyRoleName());

        $credentials = self::credentials($project->getProjectUserName(), $project->getProjectPassword());
        $pdo = self::pdo($credentials);
        self::assertSame([['id' => (int) $id, 'name' => 'kbc-' . $id]],
            self::rows($pdo, 'SELECT id, name FROM duckstore.projects'));
        self::assertSame('3', self::rows($pdo, "SELECT value FROM duckstore.snapshot_settings "
            . "WHERE level = 'project' AND key = 'time_travel_days'")[0]['value']);
        $pdo = null;

        $this->runCommand(self::adminCredentials(), (new UpdateProjectCommand())->setProjectId($id)->setTimezone('UTC'));

        $response = $this->runCommand(self::adminCredentials(), (new DropProjectCommand())
            ->setProjectUserName($project->getProjectUserName()));
        self::assertNull($response->getCommandResponse());
        $this->expectException(PDOException::class);
        self::pdo($credentials);
    }

    public function testAProjectTokenCannotCreateProjects(): void
    {
        $credentials = $this->createProject();
        try {
            $this->runCommand($credentials, (new CreateProjectCommand())->setProjectId('1'));
            self::fail('expected permission denied');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::PERMISSION_DENIED, $e->getCode());
            self::assertFalse($e->isRetryable());
        }
    }

    public function testAForeignProjectsSecretIsRefused(): void
    {
        $mine = $this->createProject();
        $foreign = $this->createProject();
        try {
            $this->runCommand(self::credentials($mine->getPrincipal(), $foreign->getSecret()),
                (new DropProjectCommand())->setProjectUserName($mine->getPrincipal()));
            self::fail('expected an authentication error');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::AUTHENTICATION, $e->getCode());
        }
        self::assertCount(1, self::rows(self::pdo($mine), 'SELECT id FROM duckstore.projects'));
    }
}

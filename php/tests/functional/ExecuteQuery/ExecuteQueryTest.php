<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\ExecuteQuery;

use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryCommand;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryResponse;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryResponse\Status;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceResponse;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;

final class ExecuteQueryTest extends FunctionalTestCase
{
    public function testQueryAnswersRowsAndAFailingQueryAnswersError(): void
    {
        $project = $this->createProject();
        $ws = self::unpack($this->runCommand($project, (new CreateWorkspaceCommand())->setWorkspaceId('7')),
            CreateWorkspaceResponse::class);

        $ok = self::unpack($this->runCommand($project, (new ExecuteQueryCommand())
            ->setPathRestriction([$ws->getWorkspaceObjectName()])
            ->setTimeout(10)
            ->setQuery("SELECT 1 AS id, 'a' AS name, NULL AS missing")), ExecuteQueryResponse::class);
        self::assertSame(Status::Success, $ok->getStatus(), $ok->getMessage());
        self::assertSame(['id', 'name', 'missing'], iterator_to_array($ok->getData()->getColumns()));
        self::assertCount(1, $ok->getData()->getRows());
        // Indexing, not iterating: Debian's protobuf 3.21 map iterator is deprecated on PHP 8.2.
        $fields = $ok->getData()->getRows()[0]->getFields();
        self::assertCount(3, $fields);
        self::assertSame(['1', 'a', ''], [$fields['id'], $fields['name'], $fields['missing']]);

        $error = self::unpack($this->runCommand($project, (new ExecuteQueryCommand())
            ->setPathRestriction([$ws->getWorkspaceObjectName()])
            ->setQuery('SELECT * FROM no_such_table')), ExecuteQueryResponse::class);
        self::assertSame(Status::Error, $error->getStatus());
        self::assertStringContainsString('no_such_table', $error->getMessage());
    }
}

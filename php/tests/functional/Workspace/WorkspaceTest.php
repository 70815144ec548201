<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Workspace;

use Keboola\StorageDriver\Command\Project\CreateDevBranchCommand;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\ImportType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\Table;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;
use Keboola\StorageDriver\Command\Table\TableImportResponse;
use Keboola\StorageDriver\Command\Workspace\ClearWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceResponse;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceUserCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceUserResponse;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceUserCommand;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\DropWorkspaceObjectCommand;
use Keboola\StorageDriver\Command\Workspace\GrantWorkspaceAccessToProjectCommand;
use Keboola\StorageDriver\Command\Workspace\LoadTableToWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\LoadTableToWorkspaceCommand\SourceTableMapping;
use Keboola\StorageDriver\Command\Workspace\LoadTableToWorkspaceCommand\SourceTableMapping\ColumnMapping;
use Keboola\StorageDriver\Command\Workspace\ResetWorkspacePasswordCommand;
use Keboola\StorageDriver\Command\Workspace\ResetWorkspacePasswordResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Exception\DuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;
use PDO;
use PDOException;

final class WorkspaceTest extends FunctionalTestCase
{
    private function createWorkspace(GenericBackendCredentials $project, string $id = '42'): CreateWorkspaceResponse
    {
        $response = $this->runCommand($project, (new CreateWorkspaceCommand())
            ->setProjectId((string) self::projectIdOf($project))
            ->setWorkspaceId($id));
        return self::unpack($response, CreateWorkspaceResponse::class);
    }

    private static function workspacePdo(GenericBackendCredentials $project, string $user, string $password, string $db): PDO
    {
        return self::pdo(self::credentials($user, $password), $db);
    }

    private function projectWithTable(): GenericBackendCredentials
    {
        $project = $this->createProject();
        $pdo = self::pdo($project);
        $pdo->exec('CREATE SCHEMA "in.c-src"');
        $pdo->exec('CREATE TABLE "in.c-src"."orders" (id INTEGER, customer STRING, amount NUMERIC(12,2))');
        $pdo->exec("INSERT INTO \"in.c-src\".\"orders\" VALUES (1, 'acme', 10.5), (2, 'globex', 20), (3, 'acme', 30)");
        return $project;
    }

    public function testAWorkspaceOfADevBranchIsManagedWithTheProjectsCredentials(): void
    {
        $project = $this->projectWithTable();
        $this->runCommand($project, (new CreateDevBranchCommand())->setBranchId('77'));
        self::pdo($project, 'branch-77')->exec("INSERT INTO \"in.c-src\".\"orders\" VALUES (4, 'initech', 1)");
        $response = $this->runCommand($project, (new CreateWorkspaceCommand())
            ->setProjectId((string) self::projectIdOf($project))
            ->setWorkspaceId('77')
            ->setBranchId('77'));
        $ws = self::unpack($response, CreateWorkspaceResponse::class);

        // the commands name only the workspace; the input mapping reads the branch's table
        $response = $this->runCommand($project, (new LoadTableToWorkspaceCommand())
            ->setSource((new SourceTableMapping())->setPath(['in.c-src'])->setTableName('orders'))
            ->setDestination((new Table())->setPath([$ws->getWorkspaceObjectName()])->setTableName('orders')));
        self::assertSame(4, (int) self::unpack($response, TableImportResponse::class)->getImportedRowsCount());

        $this->runCommand($project, (new DropWorkspaceCommand())->setWorkspaceObjectName($ws->getWorkspaceObjectName()));
        self::assertSame([], self::rows(self::pdo($project, 'branch-77'), 'SELECT id FROM duckstore.workspaces'));
    }

    public function testCreateLoadClearResetAndDrop(): void
    {
        $project = $this->projectWithTable();
        $ws = $this->createWorkspace($project);
        self::assertSame('WORKSPACE_42', $ws->getWorkspaceObjectName());
        self::assertMatchesRegularExpression('/^ws_\d+$/', $ws->getWorkspaceUserName());
        self::assertNotSame('', $ws->getWorkspacePassword());

        $response = $this->runCommand($project, (new LoadTableToWorkspaceCommand())
            ->setSource((new SourceTableMapping())
                ->setPath(['in.c-src'])
                ->setTableName('orders')
                ->setColumnMappings([
                    (new ColumnMapping())->setSourceColumnName('id')->setDestinationColumnName('id'),
                    (new ColumnMapping())->setSourceColumnName('customer')->setDestinationColumnName('customer'),
                ])
                ->setWhereFilters([(new TableWhereFilter())
                    ->setColumnsName('customer')
                    ->setOperator(Operator::eq)
                    ->setValues(['acme'])]))
            ->setDestination((new Table())->setPath([$ws->getWorkspaceObjectName()])->setTableName('acme')));
        $import = self::unpack($response, TableImportResponse::class);
        self::assertSame(2, (int) $import->getImportedRowsCount());
        self::assertSame(['id', 'customer'], iterator_to_array($import->getImportedColumns()));

        $wsPdo = self::workspacePdo($project, $ws->getWorkspaceUserName(), $ws->getWorkspacePassword(),
            $ws->getWorkspaceObjectName());
        self::assertSame([['id' => 1, 'customer' => 'acme'], ['id' => 3, 'customer' => 'acme']],
            self::rows($wsPdo, 'SELECT * FROM acme ORDER BY id'));
        $wsPdo->exec('CREATE TABLE keep AS SELECT 1 AS x');
        $wsPdo->exec('CREATE TABLE scratch AS SELECT 2 AS x');
        $wsPdo = null;

        $this->runCommand($project, (new ClearWorkspaceCommand())
            ->setWorkspaceObjectName($ws->getWorkspaceObjectName())
            ->setObjectsToPreserve(['keep']));
        $this->runCommand($project, (new DropWorkspaceObjectCommand())
            ->setWorkspaceObjectName($ws->getWorkspaceObjectName())
            ->setObjectNameToDrop('scratch')
            ->setIgnoreIfNotExists(true));

        $response = $this->runCommand($project, (new ResetWorkspacePasswordCommand())
            ->setWorkspaceUserName($ws->getWorkspaceUserName()));
        $reset = self::unpack($response, ResetWorkspacePasswordResponse::class);
        self::assertSame($ws->getWorkspaceUserName(), $reset->getWorkspaceUserName());
        self::assertNotSame($ws->getWorkspacePassword(), $reset->getWorkspacePassword());
        $wsPdo = self::workspacePdo($project, $reset->getWorkspaceUserName(), $reset->getWorkspacePassword(),
            $ws->getWorkspaceObjectName());
        self::assertSame(['keep'], array_column(self::rows($wsPdo,
            'SELECT table_name FROM information_schema.tables ORDER BY 1'), 'table_name'));
        $wsPdo = null;
        try {
            self::workspacePdo($project, $ws->getWorkspaceUserName(), $ws->getWorkspacePassword(), $ws->getWorkspaceObjectName());
            self::fail('the old password still works');
        } catch (PDOException) {
        }

        $this->runCommand($project, (new DropWorkspaceCommand())
            ->setWorkspaceUserName($ws->getWorkspaceUserName())
            ->setWorkspaceObjectName($ws->getWorkspaceObjectName()));
        self::assertSame([], self::rows(self::pdo($project), 'SELECT id FROM duckstore.workspaces'));
    }

    public function testDroppingAMissingObjectFailsUnlessIgnored(): void
    {
        $project = $this->createProject();
        $ws = $this->createWorkspace($project);
        $command = (new DropWorkspaceObjectCommand())
            ->setWorkspaceObjectName($ws->getWorkspaceObjectName())
            ->setObjectNameToDrop('nope');
        try {
            $this->runCommand($project, $command);
            self::fail('expected not found');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::TABLE_NOT_FOUND, $e->getCode());
        }
        $this->runCommand($project, $command->setIgnoreIfNotExists(true));
        self::assertTrue(true);
    }

    public function testLoadRenamesColumnsAndAppendsIncrementally(): void
    {
        $project = $this->projectWithTable();
        $ws = $this->createWorkspace($project);
        $load = fn (int $type, array $filters) => self::unpack($this->runCommand($project, (new LoadTableToWorkspaceCommand())
            ->setSource((new SourceTableMapping())
                ->setPath(['in.c-src'])
                ->setTableName('orders')
                ->setColumnMappings([
                    (new ColumnMapping())->setSourceColumnName('id')->setDestinationColumnName('order_id'),
                    (new ColumnMapping())->setSourceColumnName('amount')->setDestinationColumnName('amount'),
                ])
                ->setWhereFilters($filters))
            ->setDestination((new Table())->setPath([$ws->getWorkspaceObjectName()])->setTableName('o'))
            ->setImportOptions((new ImportOptions())->setImportType($type))), TableImportResponse::class);

        $first = $load(ImportType::FULL, [(new TableWhereFilter())->setColumnsName('id')->setOperator(Operator::eq)->setValues(['1'])]);
        self::assertSame(['order_id', 'amount'], iterator_to_array($first->getImportedColumns()));
        $more = $load(ImportType::INCREMENTAL, [(new TableWhereFilter())->setColumnsName('id')->setOperator(Operator::gt)->setValues(['1'])]);
        self::assertSame(2, (int) $more->getImportedRowsCount());

        $wsPdo = self::workspacePdo($project, $ws->getWorkspaceUserName(), $ws->getWorkspacePassword(), $ws->getWorkspaceObjectName());
        self::assertSame([1, 2, 3], array_map('intval', array_column(self::rows($wsPdo, 'SELECT order_id FROM o ORDER BY 1'), 'order_id')));
        // FULL replaces
        $load(ImportType::FULL, [(new TableWhereFilter())->setColumnsName('id')->setOperator(Operator::eq)->setValues(['2'])]);
        self::assertSame([2], array_map('intval', array_column(self::rows($wsPdo, 'SELECT order_id FROM o'), 'order_id')));
    }

    public function testLoadingAMissingTableIsTableNotFound(): void
    {
        $project = $this->createProject();
        $ws = $this->createWorkspace($project);
        try {
            $this->runCommand($project, (new LoadTableToWorkspaceCommand())
                ->setSource((new SourceTableMapping())->setPath(['in.c-src'])->setTableName('none'))
                ->setDestination((new Table())->setPath([$ws->getWorkspaceObjectName()])->setTableName('x')));
            self::fail('expected not found');
        } catch (DuckstoreException $e) {
            self::assertContains($e->getCode(), [ErrorCode::TABLE_NOT_FOUND, ErrorCode::SCHEMA_NOT_FOUND]);
        }
    }

    /** @return iterable<string, array{\Google\Protobuf\Internal\Message}> */
    public function unsupported(): iterable
    {
        yield 'grant to project' => [(new GrantWorkspaceAccessToProjectCommand())->setWorkspaceObjectName('WORKSPACE_42')];
    }

    /** @dataProvider unsupported */
    public function testCommandsWithoutACounterpartAreRefused(\Google\Protobuf\Internal\Message $command): void
    {
        $this->expectException(CommandNotSupportedException::class);
        $this->expectExceptionMessage(sprintf('Command "%s" not supported.', $command::class));
        $this->runCommand($this->createProject(), $command);
    }

    public function testFurtherUsersLogInUntilDropped(): void
    {
        $project = $this->projectWithTable();
        $ws = $this->createWorkspace($project);
        $created = self::unpack(
            $this->runCommand($project, (new CreateWorkspaceUserCommand())->setWorkspaceObjectName($ws->getWorkspaceObjectName())),
            CreateWorkspaceUserResponse::class,
        );
        self::assertSame($ws->getWorkspaceUserName() . '_1', $created->getWorkspaceUserName());
        $owner = self::workspacePdo($project, $ws->getWorkspaceUserName(), $ws->getWorkspacePassword(), $ws->getWorkspaceObjectName());
        $owner->exec('CREATE TABLE shared AS SELECT 7 AS n');
        $other = self::workspacePdo($project, $created->getWorkspaceUserName(), $created->getWorkspacePassword(), $ws->getWorkspaceObjectName());
        self::assertSame(7, (int) $other->query('SELECT n FROM shared')->fetchColumn());

        $this->runCommand($project, (new DropWorkspaceUserCommand())->setWorkspaceUserName($created->getWorkspaceUserName()));
        try {
            self::workspacePdo($project, $created->getWorkspaceUserName(), $created->getWorkspacePassword(), $ws->getWorkspaceObjectName());
            self::fail('a dropped workspace user logged in');
        } catch (PDOException $e) {
            self::assertStringContainsString('authentication failed', $e->getMessage());
        }
        self::assertSame(7, (int) $owner->query('SELECT n FROM shared')->fetchColumn());
        // another project cannot add logins to this workspace
        try {
            $this->runCommand($this->createProject(), (new CreateWorkspaceUserCommand())->setWorkspaceObjectName($ws->getWorkspaceObjectName()));
            self::fail('a foreign project created a workspace user');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::OBJECT_NOT_FOUND, $e->getCode());
        }
    }

    public function testAForeignProjectsSecretIsRefused(): void
    {
        $mine = $this->createProject();
        $foreign = $this->createProject();
        try {
            $this->createWorkspace(self::credentials($mine->getPrincipal(), $foreign->getSecret()));
            self::fail('expected an authentication error');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::AUTHENTICATION, $e->getCode());
        }
    }
}

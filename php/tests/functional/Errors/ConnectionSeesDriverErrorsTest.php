<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Errors;

use Google\Protobuf\Any;
use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Backend\InitBackendCommand;
use Keboola\StorageDriver\Command\Bucket\CreateBucketCommand;
use Keboola\StorageDriver\Command\Bucket\DropBucketCommand;
use Keboola\StorageDriver\Command\Common\RuntimeOptions;
use Keboola\StorageDriver\Command\Project\CreateDevBranchCommand;
use Keboola\StorageDriver\Command\Project\CreateProjectCommand;
use Keboola\StorageDriver\Command\Table\AddPrimaryKeyCommand;
use Keboola\StorageDriver\Command\Table\AlterColumnCommand;
use Keboola\StorageDriver\Command\Table\CreateTableCommand;
use Keboola\StorageDriver\Command\Table\DropColumnCommand;
use Keboola\StorageDriver\Command\Table\DropPrimaryKeyCommand;
use Keboola\StorageDriver\Command\Table\DropTableCommand;
use Keboola\StorageDriver\Command\Table\ImportExportShared\FileFormat;
use Keboola\StorageDriver\Command\Table\ImportExportShared\FilePath;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\DedupType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\ImportType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\Table;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromFileCommand\CsvTypeOptions;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand;
use Keboola\StorageDriver\Command\Table\TableImportFromTableCommand\SourceTableMapping;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceCommand;
use Keboola\StorageDriver\Command\Workspace\CreateWorkspaceResponse;
use Keboola\StorageDriver\Command\Workspace\GrantWorkspaceAccessToProjectCommand;
use Keboola\StorageDriver\Contract\Driver\ClientInterface;
use Keboola\StorageDriver\Contract\Driver\Exception\ExceptionInterface;
use Keboola\StorageDriver\Contract\Driver\Exception\NonRetryableExceptionInterface;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\DuckDBDriverClient;
use Keboola\StorageDriver\DuckDB\Tests\Functional\Table\TableTestCase;
use PDO;
use PDOException;
use PDOStatement;

/**
 * The driver as Keboola Connection uses it: through ClientInterface::runCommand only, knowing
 * nothing of the driver's classes. A failed command must reach it as the contract's
 * ExceptionInterface (anything else is an application error to Connection, its code and retry
 * flag lost), with the contract's code, isRetryable(), and the SQLSTATE in getContext().
 *
 * One case per SQLSTATE that Exception\SqlStateMapper knows. The server raises each one it can
 * be made to raise on demand; the rest (a cancelled statement, a terminated session, a
 * serialization conflict, …) are injected where PDO would raise them, below the real client and
 * handler (see withStatementsFailingAs).
 */
final class ConnectionSeesDriverErrorsTest extends TableTestCase
{
    // --- raised by the server -----------------------------------------------------------------

    public function testMissingTable(): void
    {
        $e = $this->failureOf($this->project, (new DropTableCommand())->setPath([self::BUCKET])->setTableName('none'));
        self::assertReachesConnectionAs('42P01', ExceptionInterface::ERR_TABLE_NOT_FOUND, false, $e);
    }

    public function testMissingBucket(): void
    {
        $e = $this->failureOf($this->project, (new CreateTableCommand())
            ->setPath(['in.c-none'])
            ->setTableName('t')
            ->setColumns([self::column('id', 'INTEGER')]));
        self::assertReachesConnectionAs('3F000', ExceptionInterface::ERR_SCHEMA_NOT_FOUND, false, $e);
    }

    public function testMissingColumn(): void
    {
        $this->createOrders();
        $e = $this->failureOf($this->project, (new DropColumnCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setColumnName('none'));
        self::assertReachesConnectionAs('42703', ExceptionInterface::ERR_COLUMN_NOT_FOUND, false, $e);
    }

    public function testMissingPrimaryKeyIsAnUnknownObject(): void
    {
        $this->createTable('plain', [self::column('id', 'INTEGER')]);
        $e = $this->failureOf($this->project, (new DropPrimaryKeyCommand())->setPath([self::BUCKET])->setTableName('plain'));
        self::assertReachesConnectionAs('42704', ExceptionInterface::ERR_UNKNOWN_OBJECT, false, $e);
    }

    public function testBucketTableAndBranchThatExistAlready(): void
    {
        $e = $this->failureOf($this->project, (new CreateBucketCommand())->setBucketId(self::BUCKET));
        self::assertReachesConnectionAs('42P06', ExceptionInterface::ERR_OBJECT_ALREADY_EXISTS, false, $e);

        $this->createOrders();
        $e = $this->failureOf($this->project, (new CreateTableCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setColumns([self::column('id', 'INTEGER')]));
        self::assertReachesConnectionAs('42P07', ExceptionInterface::ERR_OBJECT_ALREADY_EXISTS, false, $e);

        $branch = (new CreateDevBranchCommand())->setBranchId('5');
        $this->runCommand($this->project, $branch);
        $e = $this->failureOf($this->project, $branch);
        self::assertReachesConnectionAs('42710', ExceptionInterface::ERR_OBJECT_ALREADY_EXISTS, false, $e);
    }

    public function testPermissionDenied(): void
    {
        $e = $this->failureOf($this->project, (new CreateProjectCommand())->setProjectId('1'));
        self::assertReachesConnectionAs('42501', ExceptionInterface::ERR_OBJECT_PERMISSION_DENIED, false, $e);
    }

    public function testBadValuesAreValidationErrorsOutsideImports(): void
    {
        $this->createOrders();
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (1, 'a', 1.00), (2, NULL, 2.00)");

        $e = $this->failureOf($this->project, (new AlterColumnCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setDesiredDefiniton(self::column('name', 'INTEGER'))
            ->setAttributesToUpdate(['type']));
        self::assertReachesConnectionAs('22P02', ExceptionInterface::ERR_VALIDATION, false, $e);

        $e = $this->failureOf($this->project, (new AlterColumnCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setDesiredDefiniton(self::column('name', 'STRING', nullable: false))
            ->setAttributesToUpdate(['nullable']));
        self::assertReachesConnectionAs('23502', ExceptionInterface::ERR_VALIDATION, false, $e);

        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (3, 'c', 3.00)");
        $this->runCommand($this->project, (new DropPrimaryKeyCommand())->setPath([self::BUCKET])->setTableName('orders'));
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"orders\" VALUES (3, 'dup', 3.00)");
        $e = $this->failureOf($this->project, (new AddPrimaryKeyCommand())
            ->setPath([self::BUCKET])
            ->setTableName('orders')
            ->setPrimaryKeysNames(['id']));
        self::assertReachesConnectionAs('23505', ExceptionInterface::ERR_VALIDATION, false, $e);
    }

    public function testBadValuesAreInvalidSourceDataInImports(): void
    {
        $this->createOrders();
        $e = $this->failureOf($this->project, $this->fileImport("id,name,amount\nx,a,1\n"));
        self::assertReachesConnectionAs('22P02', ExceptionInterface::ERR_MANDATORY_INVALID_SOURCE_DATA, false, $e);

        $e = $this->failureOf($this->project, $this->fileImport("id,name,amount\n,a,1\n"));
        self::assertReachesConnectionAs('23502', ExceptionInterface::ERR_MANDATORY_INVALID_SOURCE_DATA, false, $e);

        $this->createTable('source', [self::column('key', 'INTEGER'), self::column('label', 'STRING')]);
        $this->pdo->exec("INSERT INTO \"in.c-driver\".\"source\" VALUES (7, 'a'), (7, 'b')");
        $e = $this->failureOf($this->project, (new TableImportFromTableCommand())
            ->setSource((new SourceTableMapping())->setPath([self::BUCKET])->setTableName('source')->setColumnMappings([
                (new SourceTableMapping\ColumnMapping())->setSourceColumnName('key')->setDestinationColumnName('id'),
                (new SourceTableMapping\ColumnMapping())->setSourceColumnName('label')->setDestinationColumnName('name'),
            ]))
            ->setDestination((new Table())->setPath([self::BUCKET])->setTableName('orders'))
            ->setImportOptions((new ImportOptions())
                ->setImportType(ImportType::INCREMENTAL)
                ->setDedupType(DedupType::FAIL_ON_DUPLICATES)));
        self::assertReachesConnectionAs('23505', ExceptionInterface::ERR_MANDATORY_INVALID_SOURCE_DATA, false, $e);
    }

    public function testDependentObjects(): void
    {
        $this->createOrders();
        $e = $this->failureOf($this->project, (new DropBucketCommand())->setBucketObjectName(self::BUCKET));
        self::assertReachesConnectionAs('2BP01', ExceptionInterface::ERR_VALIDATION, false, $e);
    }

    public function testUnreachableServerIsRetryable(): void
    {
        $e = $this->failureOf(self::adminCredentials()->setPort(1), new InitBackendCommand());
        self::assertReachesConnectionAs('08006', ExceptionInterface::ERR_CONNECTION, true, $e);
    }

    public function testWrongPasswordAndUnknownBranch(): void
    {
        $e = $this->failureOf(self::credentials($this->project->getPrincipal(), $this->project->getSecret() . 'x'), new InitBackendCommand());
        self::assertReachesConnectionAs('28P01', ExceptionInterface::ERR_AUTH, false, $e);

        $e = $this->failureOf(self::credentials($this->project->getPrincipal(), $this->project->getSecret(), 'branch-404'), new InitBackendCommand());
        self::assertReachesConnectionAs('3D000', ExceptionInterface::ERR_DATABASE_MISMATCH, false, $e);
    }

    public function testTooManyWorkspaceSessionsAtLoginIsARetryableConnectionError(): void
    {
        $response = $this->runCommand($this->project, (new CreateWorkspaceCommand())
            ->setProjectId((string) self::projectIdOf($this->project))
            ->setWorkspaceId('53'));
        $ws = self::unpack($response, CreateWorkspaceResponse::class);
        $login = self::credentials($ws->getWorkspaceUserName(), $ws->getWorkspacePassword(), $ws->getWorkspaceObjectName());
        $sessions = [];
        try {
            // up to the server's per-workspace limit (10 unless DUCKSTORE_WORKSPACE_MAX_SESSIONS says otherwise)
            for ($i = 0; $i < 100; $i++) {
                $session = self::pdo($login, $ws->getWorkspaceObjectName());
                $session->query('SELECT 1');
                $sessions[] = $session;
            }
            self::fail('no workspace session limit');
        } catch (PDOException) {
        }

        // libpq reports a refused login as 08006 whatever the server's SQLSTATE (here 53300)
        $e = $this->failureOf($login, new InitBackendCommand());
        self::assertReachesConnectionAs('08006', ExceptionInterface::ERR_CONNECTION, true, $e);
        self::assertStringContainsString('sessions', $e->getMessage());
    }

    // --- injected where PDO raises them ---------------------------------------------------------

    /** @return iterable<string, array{string, bool, int, bool}> */
    public function injectedStates(): iterable
    {
        yield 'statement cancelled (timeout)' => ['57014', false, ExceptionInterface::ERR_QUERY_TIMEOUT, false];
        yield 'session terminated' => ['57P01', false, ExceptionInterface::ERR_CONNECTION, true];
        yield 'too many sessions' => ['53300', false, ExceptionInterface::ERR_CONNECTION, true];
        yield 'connection lost mid-session' => ['08P01', false, ExceptionInterface::ERR_CONNECTION, true];
        yield 'serialization conflict' => ['40001', false, ExceptionInterface::ERR_UNKNOWN, true];
        yield 'syntax' => ['42601', false, ExceptionInterface::ERR_INVALID_SQL, false];
        yield 'not authorized' => ['28000', false, ExceptionInterface::ERR_AUTH, false];
        yield 'bad copy data' => ['22P04', false, ExceptionInterface::ERR_VALIDATION, false];
        yield 'bad copy data in an import' => ['22P04', true, ExceptionInterface::ERR_MANDATORY_INVALID_SOURCE_DATA, false];
        yield 'anything else' => ['XX000', false, ExceptionInterface::ERR_UNKNOWN, false];
    }

    /** @dataProvider injectedStates */
    public function testInjectedState(string $sqlState, bool $import, int $code, bool $retryable): void
    {
        $client = new DuckDBDriverClient(self::withStatementsFailingAs($sqlState, 'injected failure'));
        $command = $import
            ? (new TableImportFromTableCommand())
                ->setSource((new SourceTableMapping())->setPath([self::BUCKET])->setTableName('source'))
                ->setDestination((new Table())->setPath([self::BUCKET])->setTableName('orders'))
            : (new DropTableCommand())->setPath([self::BUCKET])->setTableName('orders');
        $e = $this->failureOf($this->project, $command, $client);
        self::assertReachesConnectionAs($sqlState, $code, $retryable, $e);
        self::assertSame('injected failure', $e->getMessage());
    }

    // --- not SQL, the same contract ---------------------------------------------------------------

    public function testAnUnsupportedCommandIsANonRetryableDriverError(): void
    {
        $e = $this->failureOf($this->project, new GrantWorkspaceAccessToProjectCommand());
        self::assertInstanceOf(NonRetryableExceptionInterface::class, $e);
        self::assertFalse($e->isRetryable());
        self::assertStringContainsString('GrantWorkspaceAccessToProjectCommand', $e->getMessage());
    }

    // --- helpers ------------------------------------------------------------------------------------

    /** Runs the command as Connection does and answers the driver error it gets. */
    private function failureOf(GenericBackendCredentials $credentials, Message $command, ?ClientInterface $client = null): ExceptionInterface
    {
        try {
            ($client ?? $this->client())->runCommand($credentials, $command, [], new RuntimeOptions());
        } catch (ExceptionInterface $e) {
            return $e;
        } catch (\Throwable $e) {
            self::fail(sprintf('an application error, not a driver error: %s: %s', $e::class, $e->getMessage()));
        }
        self::fail(sprintf('%s succeeded', $command::class));
    }

    private static function assertReachesConnectionAs(string $sqlState, int $code, bool $retryable, ExceptionInterface $e): void
    {
        $what = sprintf('%s (%s): %s', $sqlState, $e::class, $e->getMessage());
        self::assertSame($code, $e->getCode(), $what);
        self::assertSame($retryable, $e->isRetryable(), $what);
        self::assertSame(!$retryable, $e instanceof NonRetryableExceptionInterface, $what);
        self::assertSame($sqlState, $e->getContext()['sqlState'] ?? null, $what);
        self::assertInstanceOf(PDOException::class, $e->getPrevious(), $what);
    }

    private function fileImport(string $csv): TableImportFromFileCommand
    {
        $format = new Any();
        $format->pack(new CsvTypeOptions());
        return (new TableImportFromFileCommand())
            ->setFileFormat(FileFormat::CSV)
            ->setFormatTypeOptions($format)
            ->setFilePath((new FilePath())->setFileName((string) $this->upload($csv)))
            ->setDestination((new Table())->setPath([self::BUCKET])->setTableName('orders'))
            ->setImportOptions((new ImportOptions())->setNumberOfIgnoredLines(1));
    }

    /**
     * Sessions that never reach the server: each statement raises the PDOException that
     * pdo_pgsql raises for a server error with that SQLSTATE (same message shape, same errorInfo).
     */
    private static function withStatementsFailingAs(string $sqlState, string $message): ConnectionFactory
    {
        return new class ($sqlState, $message) extends ConnectionFactory {
            public function __construct(private readonly string $sqlState, private readonly string $message)
            {
                parent::__construct();
            }

            public function connect(GenericBackendCredentials $credentials, ?string $database = null): PDO
            {
                return new class ($this->sqlState, $this->message) extends PDO {
                    // PDO's own constructor is not called: there is no session behind this one.
                    public function __construct(private readonly string $sqlState, private readonly string $text)
                    {
                    }

                    public function prepare(string $query, array $options = []): PDOStatement|false
                    {
                        throw $this->failure();
                    }

                    public function exec(string $statement): int|false
                    {
                        throw $this->failure();
                    }

                    public function query(string $query, ?int $fetchMode = null, mixed ...$fetchModeArgs): PDOStatement|false
                    {
                        throw $this->failure();
                    }

                    private function failure(): PDOException
                    {
                        $e = new PDOException(sprintf('SQLSTATE[%s]: injected: 7 ERROR:  %s', $this->sqlState, $this->text));
                        $e->errorInfo = [$this->sqlState, 7, 'ERROR:  ' . $this->text];
                        return $e;
                    }
                };
            }
        };
    }
}

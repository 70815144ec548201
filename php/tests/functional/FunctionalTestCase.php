<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Common\DriverResponse;
use Keboola\StorageDriver\Command\Common\RuntimeOptions;
use Keboola\StorageDriver\Command\Project\CreateProjectCommand;
use Keboola\StorageDriver\Command\Project\CreateProjectResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials\PostgresCredentialsMeta;
use Keboola\StorageDriver\DuckDB\DuckDBDriverClient;
use Keboola\StorageDriver\DuckDB\Tests\DuckstoreServer;
use PDO;
use PHPUnit\Framework\TestCase;

/** Runs commands through the driver client against the test run's duckstore. */
abstract class FunctionalTestCase extends TestCase
{
    private static int $nextProjectId = 0;

    protected function client(): DuckDBDriverClient
    {
        return new DuckDBDriverClient();
    }

    /** @param string[] $features */
    protected function runCommand(GenericBackendCredentials $credentials, Message $command, array $features = []): DriverResponse
    {
        $response = $this->client()->runCommand($credentials, $command, $features, new RuntimeOptions());
        self::assertInstanceOf(DriverResponse::class, $response);
        return $response;
    }

    /**
     * @template T of Message
     * @param class-string<T> $class
     * @return T
     */
    protected static function unpack(DriverResponse $response, string $class): Message
    {
        $any = $response->getCommandResponse();
        self::assertNotNull($any, 'the command answered nothing');
        $message = $any->unpack();
        self::assertInstanceOf($class, $message);
        return $message;
    }

    protected static function adminCredentials(): GenericBackendCredentials
    {
        $server = DuckstoreServer::get();
        return (new GenericBackendCredentials())
            ->setHost($server->host)
            ->setPort($server->pgPort)
            ->setPrincipal('admin')
            ->setSecret($server->adminToken);
    }

    protected static function credentials(string $user, string $secret, ?string $database = null): GenericBackendCredentials
    {
        $credentials = self::adminCredentials()->setPrincipal($user)->setSecret($secret);
        if ($database !== null) {
            $meta = new \Google\Protobuf\Any();
            $meta->pack((new PostgresCredentialsMeta())->setDatabase($database));
            $credentials->setMeta($meta);
        }
        return $credentials;
    }

    /** A fresh project created through the driver; its credentials. */
    protected function createProject(): GenericBackendCredentials
    {
        // Unique per process and per test: duckstore never gives a dropped project's id again,
        // so ranges of two PHPUnit processes must not overlap (pid * 100 did past 99 projects).
        $id = (string) (getmypid() * 100000 + ++self::$nextProjectId);
        $response = $this->runCommand(self::adminCredentials(), (new CreateProjectCommand())
            ->setStackPrefix('test')
            ->setProjectId($id));
        $project = self::unpack($response, CreateProjectResponse::class);
        return self::credentials($project->getProjectUserName(), $project->getProjectPassword());
    }

    protected static function projectIdOf(GenericBackendCredentials $credentials): int
    {
        return (int) explode('-', $credentials->getPrincipal())[0];
    }

    protected static function pdo(GenericBackendCredentials $credentials, string $database = 'main'): PDO
    {
        return new PDO(
            sprintf('pgsql:host=%s;port=%d;dbname=%s', $credentials->getHost(), $credentials->getPort(), $database),
            $credentials->getPrincipal(),
            $credentials->getSecret(),
            [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false],
        );
    }

    /** @return list<array<string, mixed>> */
    protected static function rows(PDO $pdo, string $sql, array $params = []): array
    {
        $statement = $pdo->prepare($sql);
        $statement->execute($params);
        return $statement->fetchAll(PDO::FETCH_ASSOC);
    }
}

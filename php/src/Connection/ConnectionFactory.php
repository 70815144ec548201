<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Connection;

use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials\PostgresCredentialsMeta;
use Keboola\StorageDriver\DuckDB\Sql\Db;
use PDO;

/**
 * Opens a PDO pgsql session to duckstore from the driver credentials: host/port = its Postgres
 * address, principal = login user, secret = the token, PostgresCredentialsMeta.database = branch.
 */
class ConnectionFactory
{
    public const DEFAULT_DATABASE = 'main';

    public function __construct(private readonly int $connectTimeoutSeconds = 10)
    {
    }

    /** @param string|null $database the branch database; null: the credentials' meta, else main */
    public function connect(GenericBackendCredentials $credentials, ?string $database = null): PDO
    {
        $dsn = sprintf(
            'pgsql:host=%s;port=%d;dbname=%s;connect_timeout=%d;application_name=keboola-driver',
            $credentials->getHost(),
            $credentials->getPort() ?: 5433,
            $database ?? self::databaseOf($credentials),
            $this->connectTimeoutSeconds,
        );
        return new PDO($dsn, $credentials->getPrincipal(), $credentials->getSecret(), [
            PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_EMULATE_PREPARES => false,
        ]);
    }

    public function db(GenericBackendCredentials $credentials, ?string $database = null): Db
    {
        return new Db($this->connect($credentials, $database));
    }

    public static function databaseOf(GenericBackendCredentials $credentials): string
    {
        $meta = $credentials->getMeta();
        if ($meta !== null && $meta->getTypeUrl() !== '') {
            $unpacked = $meta->unpack();
            if ($unpacked instanceof PostgresCredentialsMeta && $unpacked->getDatabase() !== '') {
                return $unpacked->getDatabase();
            }
        }
        return self::DEFAULT_DATABASE;
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB;

use Google\Protobuf\Any;
use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Common\DriverResponse;
use Keboola\StorageDriver\Contract\Driver\ClientInterface;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\SqlStateMapper;
use Keboola\StorageDriver\DuckDB\Handler\HandlerFactory;
use PDOException;

/** Keboola's driver entry point: each command is carried out as SQL against duckstore. */
final class DuckDBDriverClient implements ClientInterface
{
    /** Commands whose bad values are the source data's fault (code 4200 rather than 3000). */
    private const IMPORT_COMMANDS = [
        'Keboola\StorageDriver\Command\Table\TableImportFromFileCommand',
        'Keboola\StorageDriver\Command\Table\TableImportFromTableCommand',
        'Keboola\StorageDriver\Command\Workspace\LoadTableToWorkspaceCommand',
    ];

    private readonly HandlerFactory $handlers;

    public function __construct(?ConnectionFactory $connections = null)
    {
        $this->handlers = new HandlerFactory($connections ?? new ConnectionFactory());
    }

    /** @param string[] $features */
    public function runCommand(
        Message $credentials,
        Message $command,
        array $features,
        Message $runtimeOptions,
    ): ?Message {
        assert($credentials instanceof GenericBackendCredentials);
        $handler = $this->handlers->create($command);
        try {
            $result = $handler($credentials, $command, $features, $runtimeOptions);
        } catch (PDOException $e) {
            throw SqlStateMapper::fromPdo($e, in_array($command::class, self::IMPORT_COMMANDS, true));
        }

        $response = new DriverResponse();
        if ($result !== null) {
            $any = new Any();
            $any->pack($result);
            $response->setCommandResponse($any);
        }
        $response->setMessages($handler->getMessages());
        return $response;
    }
}

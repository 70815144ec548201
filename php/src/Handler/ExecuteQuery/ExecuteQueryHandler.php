<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\ExecuteQuery;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryCommand;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryResponse;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryResponse\Data;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryResponse\Data\Row;
use Keboola\StorageDriver\Command\ExecuteQuery\ExecuteQueryResponse\Status;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Handler\Workspace\WorkspaceLookup;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;
use PDOException;

/**
 * Runs the query in the workspace named by pathRestriction[0] through
 * execute_workspace_query, which answers one row: columns and rows as JSON, row_count.
 * A failing query is an Error status with the server's message, as the contract wants.
 */
final class ExecuteQueryHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof ExecuteQueryCommand);
        assert(count($command->getPathRestriction()) === 1, 'pathRestriction must be [workspace]');
        $db = $this->connections->db($credentials);
        $workspace = WorkspaceLookup::get($db, $command->getPathRestriction()[0]);
        try {
            $row = $db->call('execute_workspace_query', [
                'workspace' => $workspace,
                'query' => $command->getQuery(),
                'timeout' => $command->getTimeout() > 0 ? $command->getTimeout() : null,
            ])[0];
        } catch (PDOException $e) {
            return (new ExecuteQueryResponse())
                ->setStatus(Status::Error)
                ->setMessage(self::serverMessage($e));
        }
        return (new ExecuteQueryResponse())
            ->setStatus(Status::Success)
            ->setData(self::data($row))
            ->setMessage(sprintf('Query executed, %d row(s).', (int) $row['row_count']));
    }

    /** @param array<string, mixed> $row */
    private static function data(array $row): Data
    {
        /** @var string[] $columns */
        $columns = json_decode((string) $row['columns'], true, 512, JSON_THROW_ON_ERROR);
        /** @var list<list<string|null>> $values */
        $values = json_decode((string) $row['rows'], true, 512, JSON_THROW_ON_ERROR);
        $rows = [];
        foreach ($values as $value) {
            // The map cannot hold NULL; it becomes an empty string, as in other drivers' answers.
            $fields = array_map(static fn ($v): string => $v === null ? '' : (string) $v, $value);
            $rows[] = (new Row())->setFields(array_combine($columns, $fields));
        }
        return (new Data())->setColumns($columns)->setRows($rows);
    }

    private static function serverMessage(PDOException $e): string
    {
        return preg_match('/ERROR:\s+(.*)$/s', $e->getMessage(), $m) === 1 ? trim($m[1]) : $e->getMessage();
    }
}

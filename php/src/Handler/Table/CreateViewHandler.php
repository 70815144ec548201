<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\CreateViewCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * CREATE VIEW [bucket].viewName AS SELECT columns FROM [sourceBucket].sourceTable WHERE filters.
 * duckstore expands the view as its reader at each read, so the view sees later writes and
 * gives nobody more than they may read. Answers nothing, as the BigQuery driver does.
 */
final class CreateViewHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateViewCommand);
        $view = TableRef::fromPath($command->getPath(), $command->getViewName());
        $source = TableRef::fromPath($command->getSourcePath(), $command->getSourceTableName());

        $columns = [];
        foreach ($command->getColumns() as $column) {
            if ((string) $column === '') {
                throw new NonRetryableDuckstoreException('A view column name is empty.', ErrorCode::VALIDATION);
            }
            $columns[] = Quote::ident((string) $column);
        }
        $sql = sprintf(
            'CREATE VIEW %s AS SELECT %s FROM %s',
            $view->sql(),
            $columns === [] ? '*' : implode(', ', $columns),
            $source->sql(),
        );
        $where = WhereFilters::toLiteralSql($command->getWhereFilters());
        if ($where !== '') {
            $sql .= ' WHERE ' . $where;
        }
        $this->connections->db($credentials)->exec($sql);
        $this->userLogger->info(sprintf('View "%s" created over "%s".', $view->id(), $source->id()));
        return null;
    }
}

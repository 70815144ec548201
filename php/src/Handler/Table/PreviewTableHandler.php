<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Google\Protobuf\NullValue;
use Google\Protobuf\Value;
use Keboola\StorageDriver\Command\Table\ImportExportShared\DataType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportFilters;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOrderBy\Order;
use Keboola\StorageDriver\Command\Table\PreviewTableCommand;
use Keboola\StorageDriver\Command\Table\PreviewTableResponse;
use Keboola\StorageDriver\Command\Table\PreviewTableResponse\Row;
use Keboola\StorageDriver\Command\Table\PreviewTableResponse\Row\Column;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Db;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * A SELECT over the table with bound filter values. Every value is answered as a string (NULL as
 * null), as Keboola's data preview shows them; strings longer than 16 384 characters are cut and
 * flagged isTruncated.
 */
final class PreviewTableHandler extends BaseHandler
{
    public const DEFAULT_LIMIT = 100;
    public const MAX_LIMIT = 1000;
    public const MAX_VALUE_LENGTH = 16384;

    private const CASTS = [
        DataType::INTEGER => 'INTEGER',
        DataType::BIGINT => 'BIGINT',
        DataType::DOUBLE => 'DOUBLE',
        DataType::REAL => 'REAL',
        DataType::DECIMAL => 'DECIMAL(38,9)',
        DataType::TIMESTAMP => 'TIMESTAMP',
    ];

    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof PreviewTableCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());
        $filters = $command->getFilters() ?? new ExportFilters();
        $limit = $filters->getLimit() === 0 ? self::DEFAULT_LIMIT : $filters->getLimit();
        if ($limit < 0 || $limit > self::MAX_LIMIT) {
            throw new NonRetryableDuckstoreException(
                sprintf('The preview limit must be 1 to %d; got %d.', self::MAX_LIMIT, $limit),
                ErrorCode::VALIDATION,
            );
        }
        $db = $this->connections->db($credentials);
        if ($filters->getChangeSince() !== '' || $filters->getChangeUntil() !== '') {
            // _timestamp is hidden from SELECT in duckstore; preview_table filters on it.
            return $this->previewChanges($db, $ref, $command, $filters, $limit);
        }

        $tableColumns = [];
        foreach ((new TableInfoReader($db))->read($ref->bucket, $ref->table)->getColumns() as $column) {
            $tableColumns[] = $column->getName();
        }
        $columns = TableRef::toArray($command->getColumns());
        if ($columns === []) {
            $columns = $tableColumns;
        }

        [$where, $params] = WhereFilters::toSql($filters->getWhereFilters());
        $conditions = $where === '' ? [] : [$where];
        if ($filters->getFulltextSearch() !== '') {
            // '!' escapes: PDO's SQL scanner would misread a backslash inside quotes.
            $pattern = '%' . strtr($filters->getFulltextSearch(), ['!' => '!!', '%' => '!%', '_' => '!_']) . '%';
            $matches = [];
            // every column of the table, shown or not, as export_table searches
            foreach ($tableColumns as $i => $name) {
                // One placeholder per use: native prepares do not reuse a named parameter.
                $params['fulltext' . $i] = $pattern;
                $matches[] = sprintf("CAST(%s AS VARCHAR) ILIKE :fulltext%d ESCAPE '!'", Quote::ident($name), $i);
            }
            $conditions[] = '(' . implode(' OR ', $matches) . ')';
        }
        $sql = sprintf(
            'SELECT %s FROM %s%s%s LIMIT %d',
            implode(', ', array_map(Quote::ident(...), $columns)),
            $ref->sql(),
            $conditions === [] ? '' : ' WHERE ' . implode(' AND ', $conditions),
            $this->orderBy($command),
            $limit,
        );

        $rows = [];
        foreach ($db->query($sql, $params) as $record) {
            $cells = [];
            foreach ($columns as $name) {
                [$value, $truncated] = self::value($record[$name] ?? null);
                $cells[] = (new Column())->setColumnName($name)->setValue($value)->setIsTruncated($truncated);
            }
            $rows[] = (new Row())->setColumns($cells);
        }
        return (new PreviewTableResponse())->setColumns($columns)->setRows($rows);
    }

    /** Through `CALL preview_table`, which sorts by each column's own type (no dataType casts). */
    private function previewChanges(Db $db, TableRef $ref, PreviewTableCommand $command, ExportFilters $filters, int $limit): PreviewTableResponse
    {
        $columns = TableRef::toArray($command->getColumns());
        $args = [
            'table' => $ref->id(),
            'columns' => $columns === [] ? null : implode(',', $columns),
            'order_by' => ExportOptionsMapper::orderBy($command->getOrderBy()),
        ] + ExportOptionsMapper::filters($filters);
        $args['limit'] = $limit;
        $answer = $db->call('preview_table', $args)[0];
        /** @var string[] $names */
        $names = json_decode((string) $answer['columns'], true, flags: JSON_THROW_ON_ERROR);
        $rows = [];
        foreach (json_decode((string) $answer['rows'], true, flags: JSON_THROW_ON_ERROR) as $record) {
            $cells = [];
            foreach ($names as $i => $name) {
                [$value, $truncated] = self::value($record[$i]);
                $cells[] = (new Column())->setColumnName($name)->setValue($value)->setIsTruncated($truncated);
            }
            $rows[] = (new Row())->setColumns($cells);
        }
        return (new PreviewTableResponse())->setColumns($names)->setRows($rows);
    }

    private function orderBy(PreviewTableCommand $command): string
    {
        $parts = [];
        foreach ($command->getOrderBy() as $order) {
            $column = Quote::ident($order->getColumnName());
            $cast = self::CASTS[$order->getDataType()] ?? null;
            $expression = $cast === null ? $column : sprintf('TRY_CAST(%s AS %s)', $column, $cast);
            // a value that does not convert (NULL) sorts last either way
            $parts[] = $expression . ($order->getOrder() === Order::DESC ? ' DESC' : ' ASC') . ' NULLS LAST';
        }
        return $parts === [] ? '' : ' ORDER BY ' . implode(', ', $parts);
    }

    /** @return array{0: Value, 1: bool} */
    private static function value(mixed $raw): array
    {
        if ($raw === null) {
            return [(new Value())->setNullValue(NullValue::NULL_VALUE), false];
        }
        $text = match (true) {
            is_bool($raw) => $raw ? 'true' : 'false',
            default => (string) $raw,
        };
        $truncated = mb_strlen($text, 'UTF-8') > self::MAX_VALUE_LENGTH;
        if ($truncated) {
            $text = mb_substr($text, 0, self::MAX_VALUE_LENGTH, 'UTF-8');
        }
        return [(new Value())->setStringValue($text), $truncated];
    }
}

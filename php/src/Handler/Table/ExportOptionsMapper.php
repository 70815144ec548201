<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\RepeatedField;
use Keboola\StorageDriver\Command\Table\ImportExportShared\DataType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportFilters;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOrderBy;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ExportOrderBy\Order;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;

/** ExportOrderBy and ExportFilters as export_table arguments. */
final class ExportOptionsMapper
{
    /**
     * `"a" ASC, "b"::INTEGER DESC`, or null: a dataType other than STRING sorts the column as
     * that type (a value that does not convert sorts as NULL), as the SELECT preview does.
     *
     * @param RepeatedField|ExportOrderBy[] $orderBy
     */
    public static function orderBy(RepeatedField|array $orderBy): ?string
    {
        $parts = [];
        foreach ($orderBy as $order) {
            $type = $order->getDataType() === DataType::STRING ? '' : '::' . DataType::name($order->getDataType());
            $parts[] = Quote::ident($order->getColumnName()) . $type . ($order->getOrder() === Order::DESC ? ' DESC' : ' ASC');
        }
        return $parts === [] ? null : implode(', ', $parts);
    }

    /** @return array<string, string|int|null> the filter arguments of export_table */
    public static function filters(?ExportFilters $filters): array
    {
        if ($filters === null) {
            return [];
        }
        if ($filters->getLimit() < 0) {
            throw new NonRetryableDuckstoreException('The limit must not be negative.', ErrorCode::VALIDATION);
        }
        return [
            'where' => WhereFilters::toJson($filters->getWhereFilters()),
            'limit' => $filters->getLimit() > 0 ? $filters->getLimit() : null,
            'changed_since' => ChangeWindow::toTimestamp($filters->getChangeSince()),
            'changed_until' => ChangeWindow::toTimestamp($filters->getChangeUntil()),
            // rows where any column of the table contains it, as the SELECT preview searches
            'fulltext' => $filters->getFulltextSearch() !== '' ? $filters->getFulltextSearch() : null,
        ];
    }
}

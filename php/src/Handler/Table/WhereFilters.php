<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\RepeatedField;
use Keboola\StorageDriver\Command\Table\ImportExportShared\DataType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter;
use Keboola\StorageDriver\Command\Table\ImportExportShared\TableWhereFilter\Operator;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;

/**
 * Keboola's where filters in the two shapes duckstore takes: the JSON of the procedures
 * (`export_table`, `delete_rows`) and a WHERE clause with bound values for plain SELECTs.
 * Values are always bound, never spliced.
 */
final class WhereFilters
{
    private const OPERATORS = [
        Operator::eq => ['json' => 'eq', 'sql' => '='],
        Operator::ne => ['json' => 'ne', 'sql' => '<>'],
        Operator::gt => ['json' => 'gt', 'sql' => '>'],
        Operator::ge => ['json' => 'ge', 'sql' => '>='],
        Operator::lt => ['json' => 'lt', 'sql' => '<'],
        Operator::le => ['json' => 'le', 'sql' => '<='],
    ];

    private const CASTS = [
        DataType::INTEGER => 'INTEGER',
        DataType::BIGINT => 'BIGINT',
        DataType::DOUBLE => 'DOUBLE',
        DataType::REAL => 'REAL',
        DataType::DECIMAL => 'DECIMAL(38,9)',
        DataType::TIMESTAMP => 'TIMESTAMP',
    ];

    /**
     * The procedures' `"where"` JSON, or null without filters. The procedures cast each value
     * to the column's type, or to the filter's dataType (`data_type`) when it asks for one.
     *
     * @param RepeatedField|TableWhereFilter[] $filters
     */
    public static function toJson(RepeatedField|array $filters): ?string
    {
        $out = [];
        foreach ($filters as $filter) {
            self::validate($filter);
            $entry = [
                'column' => $filter->getColumnsName(),
                'operator' => self::OPERATORS[$filter->getOperator()]['json'],
                'values' => self::values($filter),
            ];
            if ($filter->getDataType() !== DataType::STRING) {
                // compare as that type; a column value that does not convert matches nothing
                $entry['data_type'] = DataType::name($filter->getDataType());
            }
            $out[] = $entry;
        }
        return $out === [] ? null : json_encode($out, JSON_THROW_ON_ERROR);
    }

    /**
     * `cond AND cond …` (or '' without filters) and the values to bind, named `:{prefix}{n}`.
     *
     * @param RepeatedField|TableWhereFilter[] $filters
     * @return array{0: string, 1: array<string, string>}
     */
    public static function toSql(RepeatedField|array $filters, string $prefix = 'w'): array
    {
        $params = [];
        $sql = self::conditions($filters, static function (string $value) use (&$params, $prefix): string {
            $name = $prefix . count($params);
            $params[$name] = $value;
            return ':' . $name;
        });
        return [$sql, $params];
    }

    /**
     * `cond AND cond …` with the values as literals (or '' without filters), for a view's
     * query, which is stored and so cannot hold bound parameters. Same comparisons as toSql().
     *
     * @param RepeatedField|TableWhereFilter[] $filters
     */
    public static function toLiteralSql(RepeatedField|array $filters): string
    {
        return self::conditions($filters, static function (string $value): string {
            try {
                return Quote::literal($value);
            } catch (\InvalidArgumentException $e) {
                throw self::invalid($e->getMessage());
            }
        });
    }

    /**
     * The conditions, each value written by $value (a placeholder, or a literal).
     *
     * @param RepeatedField|TableWhereFilter[] $filters
     * @param callable(string): string $value
     */
    private static function conditions(RepeatedField|array $filters, callable $value): string
    {
        $conditions = [];
        foreach ($filters as $filter) {
            self::validate($filter);
            $cast = self::CASTS[$filter->getDataType()] ?? null;
            // dataType asks to compare as that type: TRY_CAST so an unconvertible value does not match.
            $column = $cast === null
                ? Quote::ident($filter->getColumnsName())
                : sprintf('TRY_CAST(%s AS %s)', Quote::ident($filter->getColumnsName()), $cast);
            $values = [];
            foreach (self::values($filter) as $v) {
                $values[] = $cast === null ? $value($v) : sprintf('CAST(%s AS %s)', $value($v), $cast);
            }
            $operator = $filter->getOperator();
            if (count($values) > 1) {
                $in = $operator === Operator::eq ? 'IN' : 'NOT IN';
                $conditions[] = sprintf('%s %s (%s)', $column, $in, implode(', ', $values));
            } else {
                $conditions[] = sprintf('%s %s %s', $column, self::OPERATORS[$operator]['sql'], $values[0]);
            }
        }
        return implode(' AND ', $conditions);
    }

    private static function validate(TableWhereFilter $filter): void
    {
        if ($filter->getColumnsName() === '') {
            throw self::invalid('A where filter must name its column.');
        }
        $count = count($filter->getValues());
        if ($count === 0) {
            throw self::invalid(sprintf('The filter on column "%s" has no values.', $filter->getColumnsName()));
        }
        $operator = $filter->getOperator();
        if (!isset(self::OPERATORS[$operator])) {
            throw self::invalid(sprintf('Unknown filter operator %d.', $operator));
        }
        if ($count > 1 && $operator !== Operator::eq && $operator !== Operator::ne) {
            throw self::invalid(sprintf(
                'The filter on column "%s": only eq and ne take several values.',
                $filter->getColumnsName(),
            ));
        }
    }

    private static function invalid(string $message): NonRetryableDuckstoreException
    {
        return new NonRetryableDuckstoreException($message, ErrorCode::VALIDATION);
    }

    /** @return list<string> */
    private static function values(TableWhereFilter $filter): array
    {
        $values = [];
        foreach ($filter->getValues() as $value) {
            $values[] = (string) $value;
        }
        return $values;
    }
}

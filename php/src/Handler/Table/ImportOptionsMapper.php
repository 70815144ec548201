<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Keboola\StorageDriver\Command\Info\TableInfo;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\DedupType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\ImportType;
use Keboola\StorageDriver\Command\Table\ImportExportShared\ImportOptions\TimestampMode;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

/** Keboola's ImportOptions as duckstore load arguments; what duckstore cannot honour is refused. */
final class ImportOptionsMapper
{
    private const DEDUP = [
        DedupType::UPDATE_DUPLICATES => 'update',
        DedupType::INSERT_DUPLICATES => 'insert',
        DedupType::FAIL_ON_DUPLICATES => 'fail',
    ];

    public static function incremental(ImportOptions $options): bool
    {
        return match ($options->getImportType()) {
            ImportType::FULL => false,
            ImportType::INCREMENTAL => true,
            default => throw new CommandNotSupportedException(
                'import type ' . ImportType::name($options->getImportType()),
            ),
        };
    }

    public static function dedup(ImportOptions $options, TableInfo $table): string
    {
        // duckstore deduplicates on the table's primary key; other dedup columns would need a
        // different key than the one it enforces.
        $dedupColumns = TableRef::toArray($options->getDedupColumnsNames());
        $key = TableRef::toArray($table->getPrimaryKeysNames());
        if ($dedupColumns !== [] && $dedupColumns !== $key) {
            throw new NonRetryableDuckstoreException(sprintf(
                'duckstore deduplicates on the primary key (%s); dedupColumnsNames (%s) must match it.',
                implode(', ', $key),
                implode(', ', $dedupColumns),
            ), ErrorCode::VALIDATION);
        }
        return self::DEDUP[$options->getDedupType()]
            ?? throw new NonRetryableDuckstoreException('Unknown dedup type.', ErrorCode::VALIDATION);
    }

    public static function checkTimestamp(ImportOptions $options): void
    {
        // duckstore sets _timestamp on every insert and update; it never takes it from the source.
        if ($options->getTimestampMode() === TimestampMode::FROM_SOURCE) {
            throw new CommandNotSupportedException('timestampMode FROM_SOURCE');
        }
    }

    /**
     * The null_strings argument (a JSON list), or null for duckstore's default (an empty field is
     * '' in text columns and NULL in others). The markers hold in every column: empty-to-NULL on
     * some text columns but not others is refused rather than loaded differently.
     */
    public static function nullStrings(ImportOptions $options, TableInfo $table): ?string
    {
        $asNull = TableRef::toArray($options->getImportAsNull());
        $emptyToNull = TableRef::toArray($options->getConvertEmptyValuesToNullOnColumns());
        $textColumns = [];
        foreach ($table->getColumns() as $column) {
            if (in_array(strtoupper($column->getType()), ['VARCHAR', 'STRING', 'TEXT'], true)) {
                $textColumns[] = $column->getName();
            }
        }
        $textEmptyToNull = array_values(array_intersect($textColumns, $emptyToNull));
        if ($textEmptyToNull !== []) {
            if (array_diff($textColumns, $emptyToNull) !== []) {
                throw new NonRetryableDuckstoreException(sprintf(
                    'duckstore converts empty values to NULL in all text columns or none; got %s.',
                    implode(', ', $textEmptyToNull),
                ), ErrorCode::VALIDATION);
            }
            // '' as a marker makes an empty field NULL in every column, text ones included
            $asNull = array_values(array_unique(array_merge([''], $asNull)));
        }
        return $asNull === [] ? null : json_encode($asNull, JSON_THROW_ON_ERROR);
    }
}

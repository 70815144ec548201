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
     * The null_string argument, or null for duckstore's default (an empty field is '' in text
     * columns and NULL in others). One null marker serves every column: a per-column choice that
     * differs from that is refused rather than loaded differently.
     */
    public static function nullString(ImportOptions $options, TableInfo $table): ?string
    {
        $asNull = TableRef::toArray($options->getImportAsNull());
        if (count($asNull) > 1) {
            throw new NonRetryableDuckstoreException('duckstore takes one importAsNull value.', ErrorCode::VALIDATION);
        }
        $emptyToNull = TableRef::toArray($options->getConvertEmptyValuesToNullOnColumns());
        $textColumns = [];
        foreach ($table->getColumns() as $column) {
            if (in_array(strtoupper($column->getType()), ['VARCHAR', 'STRING', 'TEXT'], true)) {
                $textColumns[] = $column->getName();
            }
        }
        $textEmptyToNull = array_values(array_intersect($textColumns, $emptyToNull));
        if ($textEmptyToNull === []) {
            return $asNull[0] ?? null;
        }
        if (array_diff($textColumns, $emptyToNull) !== [] || ($asNull !== [] && $asNull[0] !== '')) {
            throw new NonRetryableDuckstoreException(sprintf(
                'duckstore converts empty values to NULL in all text columns or none; got %s.',
                implode(', ', $textEmptyToNull),
            ), ErrorCode::VALIDATION);
        }
        return '';
    }
}

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

    /**
     * The keep_timestamps argument: FROM_SOURCE keeps the source rows' change times (the
     * source's `_timestamp`); otherwise duckstore sets them when it writes the rows.
     */
    public static function keepTimestamps(ImportOptions $options): ?bool
    {
        return $options->getTimestampMode() === TimestampMode::FROM_SOURCE ? true : null;
    }

    /**
     * The null arguments of a load: `null_strings` (a JSON list; NULL in every column) and
     * `empty_as_null` (the text columns where an empty field is NULL; the others keep '').
     * Without either, an empty field is '' in text columns and NULL in others.
     *
     * @return array{null_strings: ?string, empty_as_null: ?string}
     */
    public static function nulls(ImportOptions $options, TableInfo $table): array
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
        $partial = $textEmptyToNull !== [] && array_diff($textColumns, $emptyToNull) !== [];
        if ($partial && $asNull === []) {
            // only some text columns: duckstore's per-column empty-to-NULL
            return ['null_strings' => null, 'empty_as_null' => implode(',', $textEmptyToNull)];
        }
        if ($partial && !in_array('', $asNull, true)) {
            throw new NonRetryableDuckstoreException(sprintf(
                'duckstore cannot combine importAsNull values (%s) with empty-to-NULL on only some text columns (%s).',
                implode(', ', $asNull),
                implode(', ', $textEmptyToNull),
            ), ErrorCode::VALIDATION);
        }
        // ('' among importAsNull already makes an empty field NULL in every column.)
        if ($textEmptyToNull !== []) {
            // every text column: '' as a marker makes an empty field NULL in all of them
            $asNull = array_values(array_unique(array_merge([''], $asNull)));
        }
        return [
            'null_strings' => $asNull === [] ? null : json_encode($asNull, JSON_THROW_ON_ERROR),
            'empty_as_null' => null,
        ];
    }
}

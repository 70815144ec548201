<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Table;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Table\AlterColumnCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;
use Keboola\StorageDriver\DuckDB\Sql\Quote;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * ALTER TABLE … ALTER COLUMN for the attributes listed in attributesToUpdate (type/length,
 * nullable, default), all in one statement: duckstore applies them together or not at all.
 */
final class AlterColumnHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof AlterColumnCommand);
        $ref = TableRef::fromPath($command->getPath(), $command->getTableName());
        $desired = $command->getDesiredDefiniton();
        if ($desired === null || $desired->getName() === '') {
            throw new NonRetryableDuckstoreException('The desired column definition is missing.', ErrorCode::VALIDATION);
        }
        $attributes = array_unique(array_map('strtolower', TableRef::toArray($command->getAttributesToUpdate())));
        if ($attributes === []) {
            throw new NonRetryableDuckstoreException('attributesToUpdate names nothing to change.', ErrorCode::VALIDATION);
        }

        $db = $this->connections->db($credentials);
        $reader = new TableInfoReader($db);
        $column = Quote::ident($desired->getName());
        $changes = [];
        foreach ($attributes as $attribute) {
            $changes[] = match ($attribute) {
                'type', 'length' => sprintf('ALTER COLUMN %s TYPE %s', $column, $this->desiredType($reader, $ref, $desired->getName(), $desired->getType(), $desired->getLength())),
                'nullable' => sprintf('ALTER COLUMN %s %s NOT NULL', $column, $desired->getNullable() ? 'DROP' : 'SET'),
                'default' => $desired->getDefault() === ''
                    ? sprintf('ALTER COLUMN %s DROP DEFAULT', $column)
                    : sprintf('ALTER COLUMN %s SET DEFAULT %s', $column, ColumnDefinition::defaultValue($desired->getDefault())),
                default => throw new NonRetryableDuckstoreException(
                    sprintf('Attribute "%s" cannot be altered; use type, length, nullable or default.', $attribute),
                    ErrorCode::VALIDATION,
                ),
            };
        }
        $db->exec(sprintf('ALTER TABLE %s %s', $ref->sql(), implode(', ', $changes)));
        return $reader->response($ref->bucket, $ref->table);
    }

    /** A length change alone keeps the column's current type. */
    private function desiredType(TableInfoReader $reader, TableRef $ref, string $name, string $type, string $length): string
    {
        if ($type === '') {
            foreach ($reader->read($ref->bucket, $ref->table)->getColumns() as $current) {
                if ($current->getName() === $name) {
                    $type = $current->getType();
                }
            }
        }
        if ($type === '') {
            throw new NonRetryableDuckstoreException(sprintf('Column "%s" not found.', $name), ErrorCode::COLUMN_NOT_FOUND);
        }
        return ColumnDefinition::type($type, $length);
    }
}

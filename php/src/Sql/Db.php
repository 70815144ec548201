<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Sql;

use PDO;

/** Thin PDO helper: every value is bound, never spliced into SQL. */
final class Db
{
    public function __construct(private readonly PDO $pdo)
    {
    }

    public function pdo(): PDO
    {
        return $this->pdo;
    }

    /**
     * @param array<string, scalar|null> $params
     * @return list<array<string, mixed>>
     */
    public function query(string $sql, array $params = []): array
    {
        $statement = $this->pdo->prepare($sql);
        foreach ($params as $name => $value) {
            $statement->bindValue(':' . $name, $value, self::type($value));
        }
        $statement->execute();
        /** @var list<array<string, mixed>> $rows */
        $rows = $statement->fetchAll(PDO::FETCH_ASSOC);
        return $rows;
    }

    /**
     * @param array<string, scalar|null> $params
     * @return array<string, mixed>|null
     */
    public function one(string $sql, array $params = []): ?array
    {
        return $this->query($sql, $params)[0] ?? null;
    }

    /** Runs a statement without parameters (DDL with quoted identifiers). */
    public function exec(string $sql): void
    {
        $this->pdo->exec($sql);
    }

    /**
     * CALL procedure(arg => :arg, …); null arguments are left out so the procedure's default applies.
     *
     * @param array<string, scalar|null> $args
     * @return list<array<string, mixed>>
     */
    public function call(string $procedure, array $args = []): array
    {
        $args = array_filter($args, static fn ($value): bool => $value !== null);
        $list = [];
        foreach (array_keys($args) as $name) {
            $list[] = Quote::ident($name) . ' => :' . $name;
        }
        $sql = sprintf('CALL %s(%s)', Quote::ident($procedure), implode(', ', $list));
        return $this->query($sql, $args);
    }

    private static function type(mixed $value): int
    {
        return match (true) {
            is_int($value) => PDO::PARAM_INT,
            is_bool($value) => PDO::PARAM_BOOL,
            $value === null => PDO::PARAM_NULL,
            default => PDO::PARAM_STR,
        };
    }
}

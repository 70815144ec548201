<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Exception;

use Keboola\StorageDriver\Shared\Driver\Exception\Exception;

/** A failure duckstore reported; retrying may help (see SqlStateMapper for which ones). */
class DuckstoreException extends Exception
{
    public function getSqlState(): string
    {
        return (string) ($this->getContext()['sqlState'] ?? '');
    }
}

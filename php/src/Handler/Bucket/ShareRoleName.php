<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Bucket;

use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Exception\NonRetryableDuckstoreException;

/**
 * What ShareBucket answers as bucketShareRoleName and LinkBucket gets back as
 * sourceShareRoleName: "<source project id>/<bucket>", all link_bucket needs to find the source.
 */
final class ShareRoleName
{
    public function __construct(public readonly int $projectId, public readonly string $bucket)
    {
    }

    public static function parse(string $name): self
    {
        if (preg_match('~^(\d+)/(.+)$~', $name, $m) !== 1) {
            throw new NonRetryableDuckstoreException(
                sprintf('"%s" is not a duckstore share name ("<project id>/<bucket>").', $name),
                ErrorCode::VALIDATION,
            );
        }
        return new self((int) $m[1], $m[2]);
    }

    public function __toString(): string
    {
        return $this->projectId . '/' . $this->bucket;
    }
}

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Exception;

/** The contract's error code ranges (storage-driver-common GUIDES.md). */
final class ErrorCode
{
    public const UNKNOWN = 0;
    public const COMMAND_NOT_SUPPORTED = 900;
    public const CONNECTION_TIMEOUT = 1000;
    public const CONNECTION = 1001;
    public const AUTHENTICATION = 1002;
    public const DATABASE_MISMATCH = 1003;
    public const OBJECT_NOT_FOUND = 2000;
    public const UNKNOWN_OBJECT = 2001;
    public const DATABASE_NOT_FOUND = 2002;
    public const SCHEMA_NOT_FOUND = 2003;
    public const TABLE_NOT_FOUND = 2004;
    public const COLUMN_NOT_FOUND = 2005;
    public const OBJECT_ALREADY_EXISTS = 2006;
    public const PERMISSION_DENIED = 2007;
    public const VIEW_NOT_FOUND = 2008;
    public const VALIDATION = 3000;
    public const IMPORT = 4000;
    public const INVALID_SOURCE_DATA = 4200;
    public const EXPORT = 5000;
    public const SQL = 6000;
    public const INVALID_SQL = 6001;
    public const QUERY_TIMEOUT = 6002;
}

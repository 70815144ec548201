<?php

declare(strict_types=1);

use Keboola\StorageDriver\DuckDB\Tests\DuckstoreServer;

// Test bootstrap: protobuf runtime (Debian's php-google-protobuf has no autoload.php), PSR-3
// (Debian's php-psr-log), the classes generated from the protos, the driver, and the types of
// keboola/storage-driver-common and keboola/common-exceptions the driver uses.
//
// By default those types are the stand-ins in tests/stubs/ and the protos are php/proto
// (generated into php/generated). Two environment variables swap in the upstream packages
// instead, to check the driver against them (see README.md, "Tests against upstream"):
//   DUCKSTORE_PHP_UPSTREAM=DIR            an export of keboola/php-storage-driver-common: its
//                                         proto/ (generated into a temp dir), contract/, Shared/
//   DUCKSTORE_PHP_COMMON_EXCEPTIONS=DIR   an export of keboola/common-exceptions: its src/
$root = dirname(__DIR__);
$upstream = getenv('DUCKSTORE_PHP_UPSTREAM') ?: null;
$commonExceptions = getenv('DUCKSTORE_PHP_COMMON_EXCEPTIONS') ?: null;

$require = static function (?string $dir, array $subdirs, string $variable): void {
    foreach ($dir === null ? [] : $subdirs as $subdir) {
        if (!is_dir($dir . '/' . $subdir)) {
            fwrite(STDERR, "$variable=$dir has no $subdir/ directory\n");
            exit(1);
        }
    }
};
$require($upstream, ['proto', 'contract', 'Shared'], 'DUCKSTORE_PHP_UPSTREAM');
$require($commonExceptions, ['src'], 'DUCKSTORE_PHP_COMMON_EXCEPTIONS');

if ($upstream === null) {
    $protoRoot = $root;
    $generated = $root . '/generated';
} else {
    // Generated outside the repository, so php/generated stays that of php/proto.
    $protoRoot = realpath($upstream);
    $generated = sys_get_temp_dir() . '/duckstore-php-upstream-' . bin2hex(random_bytes(6));
    register_shutdown_function(static function () use ($generated): void {
        exec('rm -rf ' . escapeshellarg($generated));
    });
}

exec('rm -rf ' . escapeshellarg($generated));
mkdir($generated, 0777, true);
$protos = glob($protoRoot . '/proto/*.proto') ?: [];
$protos = array_merge($protos, glob($protoRoot . '/proto/*/*.proto') ?: []);
$cmd = sprintf('protoc -I %s --php_out=%s %s 2>&1', escapeshellarg($protoRoot), escapeshellarg($generated),
    implode(' ', array_map('escapeshellarg', $protos)));
exec($cmd, $output, $rc);
if ($rc !== 0) {
    fwrite(STDERR, "protoc failed:\n" . implode("\n", $output) . "\n");
    exit(1);
}

$psrLog = '/usr/share/php/Psr/Log/';
if (!is_file($psrLog . 'LoggerInterface.php')) {
    fwrite(STDERR, "PSR-3 (psr/log) not found in $psrLog: install Debian's php-psr-log\n");
    exit(1);
}

$prefixes = [
    'Google\\Protobuf\\' => ['/usr/share/php/Google/Protobuf/'],
    'GPBMetadata\\Google\\Protobuf\\' => ['/usr/share/php/GPBMetadata/Google/Protobuf/'],
    'GPBMetadata\\' => [$generated . '/GPBMetadata/'],
    'Psr\\Log\\' => [$psrLog],
    'Keboola\\StorageDriver\\DuckDB\\Tests\\Functional\\' => [__DIR__ . '/functional/'],
    'Keboola\\StorageDriver\\DuckDB\\Tests\\Unit\\' => [__DIR__ . '/unit/'],
    'Keboola\\StorageDriver\\DuckDB\\Tests\\' => [__DIR__ . '/'],
    'Keboola\\StorageDriver\\DuckDB\\' => [$root . '/src/'],
];
if ($commonExceptions !== null) {
    $prefixes['Keboola\\CommonExceptions\\'] = [realpath($commonExceptions) . '/src/'];
}
if ($upstream !== null) {
    // No stand-in is reachable here: a type the driver needs and upstream lacks fails to load.
    $prefixes['Keboola\\StorageDriver\\Contract\\'] = [$protoRoot . '/contract/'];
    $prefixes['Keboola\\StorageDriver\\Shared\\'] = [$protoRoot . '/Shared/'];
    $prefixes['Keboola\\StorageDriver\\'] = [$generated . '/Keboola/StorageDriver/'];
}
$prefixes['Keboola\\'] = [$generated . '/Keboola/', __DIR__ . '/stubs/Keboola/'];
spl_autoload_register(static function (string $class) use ($prefixes): void {
    foreach ($prefixes as $prefix => $dirs) {
        if (!str_starts_with($class, $prefix)) {
            continue;
        }
        $relative = str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        foreach ($dirs as $dir) {
            if (is_file($dir . $relative)) {
                require $dir . $relative;
                return;
            }
        }
        return;
    }
});

// Any::unpack() finds a message only once its file is in the descriptor pool.
foreach (new RecursiveIteratorIterator(new RecursiveDirectoryIterator($generated . '/GPBMetadata/Proto')) as $file) {
    if ($file->isFile()) {
        $class = 'GPBMetadata\\Proto\\' . str_replace(['/', '.php'], ['\\', ''],
            substr($file->getPathname(), strlen($generated . '/GPBMetadata/Proto/')));
        $class::initOnce();
    }
}

if (getenv('DUCKSTORE_NO_SERVER') === false) {
    DuckstoreServer::start(getenv('DUCKSTORE_BIN') ?: __DIR__ . '/../../target/debug/duckstore');
}

<?php

declare(strict_types=1);

use Keboola\StorageDriver\DuckDB\Tests\DuckstoreServer;

// Test bootstrap: protobuf runtime (Debian's php-google-protobuf has no autoload.php), the
// classes generated from php/proto, the driver, test-only stubs of storage-driver-common.
$root = dirname(__DIR__);
$generated = $root . '/generated';

exec('rm -rf ' . escapeshellarg($generated));
mkdir($generated, 0777, true);
$protos = glob($root . '/proto/*.proto') ?: [];
$protos = array_merge($protos, glob($root . '/proto/*/*.proto') ?: []);
$cmd = sprintf('protoc -I %s --php_out=%s %s 2>&1', escapeshellarg($root), escapeshellarg($generated),
    implode(' ', array_map('escapeshellarg', $protos)));
exec($cmd, $output, $rc);
if ($rc !== 0) {
    fwrite(STDERR, "protoc failed:\n" . implode("\n", $output) . "\n");
    exit(1);
}

$prefixes = [
    'Google\\Protobuf\\' => ['/usr/share/php/Google/Protobuf/'],
    'GPBMetadata\\Google\\Protobuf\\' => ['/usr/share/php/GPBMetadata/Google/Protobuf/'],
    'GPBMetadata\\' => [$generated . '/GPBMetadata/'],
    'Keboola\\StorageDriver\\DuckDB\\Tests\\Functional\\' => [__DIR__ . '/functional/'],
    'Keboola\\StorageDriver\\DuckDB\\Tests\\Unit\\' => [__DIR__ . '/unit/'],
    'Keboola\\StorageDriver\\DuckDB\\Tests\\' => [__DIR__ . '/'],
    'Keboola\\StorageDriver\\DuckDB\\' => [$root . '/src/'],
    'Keboola\\' => [$generated . '/Keboola/', __DIR__ . '/stubs/Keboola/'],
];
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

<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests;

use RuntimeException;

/** One duckstore process for the whole test run: temp data dir, ephemeral ports. */
final class DuckstoreServer
{
    private static ?self $instance = null;

    /** @var resource */
    private $process;

    private function __construct(
        public readonly string $host,
        public readonly int $pgPort,
        public readonly int $httpPort,
        public readonly string $adminToken,
        private readonly string $dataDir,
    ) {
    }

    public static function get(): self
    {
        return self::$instance ?? throw new RuntimeException('duckstore was not started (see tests/bootstrap.php)');
    }

    public static function start(string $binary): self
    {
        if (!is_executable($binary)) {
            throw new RuntimeException("duckstore binary not found at $binary (set DUCKSTORE_BIN)");
        }
        $dataDir = sys_get_temp_dir() . '/duckstore-php-' . bin2hex(random_bytes(6));
        mkdir($dataDir, 0700, true);
        $token = bin2hex(random_bytes(16));
        $env = getenv() + ['DUCKSTORE_ADMIN_TOKEN' => $token, 'DUCKSTORE_LOG_FORMAT' => 'json'];
        $env['DUCKSTORE_ADMIN_TOKEN'] = $token;
        $env['DUCKSTORE_LOG_FORMAT'] = 'json';
        $command = [$binary, 'serve', '--data-dir', $dataDir . '/data',
            '--pg-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0'];
        $process = proc_open($command, [1 => ['file', $dataDir . '/server.log', 'a'],
            2 => ['file', $dataDir . '/server.log', 'a']], $pipes, null, $env);
        if (!is_resource($process)) {
            throw new RuntimeException('could not start duckstore');
        }
        [$pg, $http] = self::waitUntilUp($process, $dataDir . '/server.log');
        $server = new self('127.0.0.1', $pg, $http, $token, $dataDir);
        $server->process = $process;
        self::$instance = $server;
        register_shutdown_function([$server, 'stop']);
        return $server;
    }

    /** @return array{int, int} the Postgres and HTTP ports from the "duckstore is up" line */
    private static function waitUntilUp($process, string $log): array
    {
        $deadline = microtime(true) + 60;
        while (microtime(true) < $deadline) {
            foreach (file($log, FILE_IGNORE_NEW_LINES) ?: [] as $line) {
                $entry = json_decode($line, true);
                if (is_array($entry) && ($entry['message'] ?? null) === 'duckstore is up') {
                    return [self::port($entry['pg_addr']), self::port($entry['http_addr'])];
                }
            }
            if (!proc_get_status($process)['running']) {
                throw new RuntimeException("duckstore exited during start:\n" . file_get_contents($log));
            }
            usleep(100_000);
        }
        throw new RuntimeException("duckstore did not come up:\n" . file_get_contents($log));
    }

    private static function port(string $address): int
    {
        return (int) substr($address, strrpos($address, ':') + 1);
    }

    /** SIGTERM to the process we started, wait for it, then remove its data. */
    public function stop(): void
    {
        if (!is_resource($this->process)) {
            return;
        }
        $status = proc_get_status($this->process);
        if ($status['running']) {
            posix_kill($status['pid'], SIGTERM);
            $deadline = microtime(true) + 30;
            while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
                usleep(100_000);
            }
            if (proc_get_status($this->process)['running']) {
                posix_kill($status['pid'], SIGKILL);
            }
        }
        proc_close($this->process);
        if (getenv('DUCKSTORE_KEEP_DATA') === false) {
            exec('rm -rf ' . escapeshellarg($this->dataDir));
        }
    }
}

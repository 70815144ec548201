<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Backend;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Backend\InitBackendCommand;
use Keboola\StorageDriver\Command\Backend\InitBackendResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/** Checks that duckstore answers with these (admin) credentials; there is nothing to set up. */
final class InitBackendHandler extends BaseHandler
{
    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof InitBackendCommand);
        $this->connections->db($credentials)->one('SELECT version() AS version');
        return new InitBackendResponse();
    }
}

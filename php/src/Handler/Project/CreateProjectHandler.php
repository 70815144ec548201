<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Handler\Project;

use Google\Protobuf\Internal\Message;
use Keboola\StorageDriver\Command\Project\CreateProjectCommand;
use Keboola\StorageDriver\Command\Project\CreateProjectResponse;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Connection\ConnectionFactory;
use Keboola\StorageDriver\Shared\Driver\BaseHandler;

/**
 * As the admin: a duckstore project with Keboola's project id. Its first token becomes the
 * project's credentials (user name and password); roles are names only, duckstore has scopes.
 */
final class CreateProjectHandler extends BaseHandler
{
    private const MAX_TIME_TRAVEL_DAYS = 90;

    public function __construct(private readonly ConnectionFactory $connections)
    {
        parent::__construct();
    }

    public function __invoke(Message $credentials, Message $command, array $features, Message $runtimeOptions): ?Message
    {
        assert($credentials instanceof GenericBackendCredentials);
        assert($command instanceof CreateProjectCommand);
        $projectId = $command->getProjectId();
        $numericId = ctype_digit($projectId) ? (int) $projectId : null;
        $name = trim($command->getStackPrefix() . '-' . $projectId, '-');

        $row = $this->connections->db($credentials)->call('create_project', [
            'name' => $name !== '' ? $name : 'project',
            'id' => $numericId,
        ])[0];
        $id = (string) $row['project_id'];
        $project = (new GenericBackendCredentials())
            ->setHost($credentials->getHost())
            ->setPort($credentials->getPort())
            ->setPrincipal((string) $row['user_name'])
            ->setSecret((string) $row['token']);
        $this->applyRetention($project, $command->getDataRetentionTime());

        return (new CreateProjectResponse())
            ->setProjectUserName((string) $row['user_name'])
            ->setProjectPassword((string) $row['token'])
            ->setProjectRoleName(ProjectRoles::admin($id))
            ->setProjectReadOnlyRoleName(ProjectRoles::readOnly($id))
            ->setProjectDatabaseName(ConnectionFactory::DEFAULT_DATABASE);
    }

    /** Keboola's data retention is duckstore's time-travel window (0–90 days). */
    private function applyRetention(GenericBackendCredentials $project, int $days): void
    {
        if ($days <= 0) {
            return;
        }
        if ($days > self::MAX_TIME_TRAVEL_DAYS) {
            $this->userLogger->warning(sprintf(
                'Data retention of %d days exceeds duckstore\'s maximum; %d days are kept.',
                $days,
                self::MAX_TIME_TRAVEL_DAYS,
            ));
            $days = self::MAX_TIME_TRAVEL_DAYS;
        }
        $this->connections->db($project)->call('set_snapshot_settings', [
            'level' => 'project',
            'time_travel_days' => $days,
        ]);
    }
}

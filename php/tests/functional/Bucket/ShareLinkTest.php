<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Bucket;

use Keboola\StorageDriver\Command\Bucket\CreateBucketCommand;
use Keboola\StorageDriver\Command\Bucket\LinkBucketCommand;
use Keboola\StorageDriver\Command\Bucket\LinkedBucketResponse;
use Keboola\StorageDriver\Command\Bucket\ShareBucketCommand;
use Keboola\StorageDriver\Command\Bucket\ShareBucketResponse;
use Keboola\StorageDriver\Command\Bucket\UnlinkBucketCommand;
use Keboola\StorageDriver\Command\Bucket\UnshareBucketCommand;
use Keboola\StorageDriver\Credentials\GenericBackendCredentials;
use Keboola\StorageDriver\DuckDB\Exception\DuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;

final class ShareLinkTest extends FunctionalTestCase
{
    private function sourceWithTable(): GenericBackendCredentials
    {
        $source = $this->createProject();
        $this->runCommand($source, (new CreateBucketCommand())->setBucketId('in.c-shared'));
        $pdo = self::pdo($source);
        $pdo->exec('CREATE TABLE "in.c-shared"."t" (id INTEGER, name STRING)');
        $pdo->exec("INSERT INTO \"in.c-shared\".\"t\" VALUES (1, 'a'), (2, 'b')");
        return $source;
    }

    /** Link and unlink, with the share made in SQL with one named project. */
    public function testLinkReadsTheSourceAndUnlinkRemovesIt(): void
    {
        $source = $this->sourceWithTable();
        $target = $this->createProject();
        $sourceId = self::projectIdOf($source);
        self::pdo($source)->prepare('CALL share_bucket(bucket => :b, project => :p)')
            ->execute(['b' => 'in.c-shared', 'p' => self::projectIdOf($target)]);

        $response = $this->runCommand($target, (new LinkBucketCommand())
            ->setTargetProjectId((string) self::projectIdOf($target))
            ->setTargetBucketId('in.c-linked')
            ->setSourceShareRoleName($sourceId . '/in.c-shared'));
        self::assertSame('in.c-linked', self::unpack($response, LinkedBucketResponse::class)->getLinkedBucketObjectName());
        $pdo = self::pdo($target);
        self::assertSame([['id' => 1, 'name' => 'a'], ['id' => 2, 'name' => 'b']],
            self::rows($pdo, 'SELECT id, name FROM "in.c-linked"."t" ORDER BY id'));

        $this->runCommand($target, (new UnlinkBucketCommand())
            ->setBucketObjectName('in.c-linked')
            ->setSourceShareRoleName($sourceId . '/in.c-shared'));
        self::assertSame([], self::rows($pdo, 'SELECT id FROM duckstore.buckets'));
    }

    public function testLinkingAnUnsharedBucketIsRefused(): void
    {
        $source = $this->sourceWithTable();
        $target = $this->createProject();
        try {
            $this->runCommand($target, (new LinkBucketCommand())
                ->setTargetBucketId('in.c-linked')
                ->setSourceShareRoleName(self::projectIdOf($source) . '/in.c-shared'));
            self::fail('expected a refusal');
        } catch (DuckstoreException $e) {
            self::assertFalse($e->isRetryable());
            self::assertNotSame(ErrorCode::UNKNOWN, $e->getCode(), $e->getMessage());
        }
    }

    /** ShareBucket shares with every project: any project may link it, until it is unshared. */
    public function testShareLinkUnlinkUnshare(): void
    {
        $source = $this->sourceWithTable();
        $target = $this->createProject();
        $other = $this->createProject();
        $response = $this->runCommand($source, (new ShareBucketCommand())
            ->setSourceProjectId((string) self::projectIdOf($source))
            ->setSourceBucketId('in.c-shared')
            ->setSourceBucketObjectName('in.c-shared'));
        $share = self::unpack($response, ShareBucketResponse::class)->getBucketShareRoleName();
        self::assertSame(self::projectIdOf($source) . '/in.c-shared', $share);
        self::assertSame('*', self::rows(self::pdo($source), 'SELECT shared_with FROM duckstore.buckets')[0]['shared_with']);

        // Two projects, neither named by the share, link it with their own credentials.
        foreach ([$target, $other] as $project) {
            $linked = $this->runCommand($project, (new LinkBucketCommand())
                ->setTargetProjectId((string) self::projectIdOf($project))
                ->setTargetBucketId('in.c-linked')
                ->setSourceShareRoleName($share));
            self::assertSame('in.c-linked', self::unpack($linked, LinkedBucketResponse::class)->getLinkedBucketObjectName());
            self::assertSame([['id' => 1, 'name' => 'a'], ['id' => 2, 'name' => 'b']],
                self::rows(self::pdo($project), 'SELECT id, name FROM "in.c-linked"."t" ORDER BY id'));
        }
        $this->runCommand($target, (new UnlinkBucketCommand())
            ->setBucketObjectName('in.c-linked')
            ->setSourceShareRoleName($share));
        self::assertSame([], self::rows(self::pdo($target), 'SELECT id FROM duckstore.buckets'));

        // Refused while a project still links it (2BP01), and the share stays.
        $unshare = (new UnshareBucketCommand())->setBucketObjectName('in.c-shared')->setBucketShareRoleName($share);
        try {
            $this->runCommand($source, $unshare);
            self::fail('expected a refusal while the bucket is linked');
        } catch (DuckstoreException $e) {
            self::assertSame('2BP01', $e->getSqlState(), $e->getMessage());
            self::assertSame(ErrorCode::VALIDATION, $e->getCode());
        }
        self::assertCount(2, self::rows(self::pdo($other), 'SELECT * FROM "in.c-linked"."t"'));

        $this->runCommand($other, (new UnlinkBucketCommand())->setBucketObjectName('in.c-linked'));
        $this->runCommand($source, $unshare);
        // Shared with no one: duckstore shows an empty list ('' or NULL), no longer '*'.
        self::assertEmpty(self::rows(self::pdo($source), 'SELECT shared_with FROM duckstore.buckets')[0]['shared_with']);

        // No longer shared: linking is refused.
        try {
            $this->runCommand($target, (new LinkBucketCommand())
                ->setTargetBucketId('in.c-again')
                ->setSourceShareRoleName($share));
            self::fail('expected a refusal after unsharing');
        } catch (DuckstoreException $e) {
            self::assertFalse($e->isRetryable());
        }
    }

    public function testMalformedShareNamesAreValidationErrors(): void
    {
        try {
            $this->runCommand($this->createProject(), (new LinkBucketCommand())
                ->setTargetBucketId('in.c-linked')
                ->setSourceShareRoleName('SHARE_ROLE_X'));
            self::fail('expected a validation error');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::VALIDATION, $e->getCode());
        }
    }
}

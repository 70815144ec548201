<?php

declare(strict_types=1);

namespace Keboola\StorageDriver\DuckDB\Tests\Functional\Bucket;

use Keboola\StorageDriver\Command\Bucket\CreateBucketCommand;
use Keboola\StorageDriver\Command\Bucket\CreateBucketResponse;
use Keboola\StorageDriver\Command\Bucket\DropBucketCommand;
use Keboola\StorageDriver\Command\Bucket\GrantBucketAccessToReadOnlyRoleCommand;
use Keboola\StorageDriver\Command\Bucket\GrantBucketAccessToReadOnlyRoleResponse;
use Keboola\StorageDriver\Command\Bucket\RevokeBucketAccessFromReadOnlyRoleCommand;
use Keboola\StorageDriver\Command\Project\CreateDevBranchCommand;
use Keboola\StorageDriver\DuckDB\Exception\DuckstoreException;
use Keboola\StorageDriver\DuckDB\Exception\ErrorCode;
use Keboola\StorageDriver\DuckDB\Tests\Functional\FunctionalTestCase;
use Keboola\StorageDriver\Shared\Driver\Exception\CommandNotSupportedException;

final class BucketTest extends FunctionalTestCase
{
    public function testCreateAndDropABucket(): void
    {
        $credentials = $this->createProject();
        $response = $this->runCommand($credentials, (new CreateBucketCommand())->setBucketId('in.c-sales'));
        $bucket = self::unpack($response, CreateBucketResponse::class);
        self::assertSame(['in.c-sales'], iterator_to_array($bucket->getPath()));
        self::assertSame('in.c-sales', $bucket->getCreateBucketObjectName());
        $pdo = self::pdo($credentials);
        self::assertSame(['in.c-sales'], array_column(self::rows($pdo, 'SELECT id FROM duckstore.buckets'), 'id'));

        $pdo->exec('CREATE TABLE "in.c-sales"."orders" (id INTEGER)');
        try {
            $this->runCommand($credentials, (new DropBucketCommand())->setBucketObjectName('in.c-sales'));
            self::fail('a bucket with tables drops only with cascade');
        } catch (DuckstoreException $e) {
            self::assertSame('2BP01', $e->getSqlState());
        }
        $this->runCommand($credentials, (new DropBucketCommand())
            ->setBucketObjectName('in.c-sales')
            ->setIsCascade(true));
        self::assertSame([], self::rows($pdo, 'SELECT id FROM duckstore.buckets'));
    }

    public function testCreateTwiceIsAlreadyExists(): void
    {
        $credentials = $this->createProject();
        $command = (new CreateBucketCommand())->setBucketId('out.c-twice');
        $this->runCommand($credentials, $command);
        try {
            $this->runCommand($credentials, $command);
            self::fail('expected already exists');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::OBJECT_ALREADY_EXISTS, $e->getCode());
        }
    }

    public function testDroppingAMissingBucketIsSchemaNotFound(): void
    {
        try {
            $this->runCommand($this->createProject(), (new DropBucketCommand())->setBucketObjectName('in.c-none'));
            self::fail('expected schema not found');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::SCHEMA_NOT_FOUND, $e->getCode());
            self::assertFalse($e->isRetryable());
        }
    }

    public function testABucketOfADevBranchExistsOnlyThere(): void
    {
        $credentials = $this->createProject();
        $this->runCommand($credentials, (new CreateDevBranchCommand())->setBranchId('77'));
        $this->runCommand($credentials, (new CreateBucketCommand())
            ->setBucketId('in.c-dev')
            ->setBranchId('77'));
        self::assertSame(['in.c-dev'], array_column(
            self::rows(self::pdo($credentials, 'branch-77'), 'SELECT id FROM duckstore.buckets'), 'id'));
        self::assertSame([], self::rows(self::pdo($credentials), 'SELECT id FROM duckstore.buckets'));

        $this->runCommand($credentials, (new CreateBucketCommand())
            ->setBucketId('in.c-main')
            ->setBranchId('1')
            ->setIsBranchDefault(true));
        self::assertSame(['in.c-main'], array_column(
            self::rows(self::pdo($credentials), 'SELECT id FROM duckstore.buckets'), 'id'));
    }

    public function testGrantAndRevokeReadOnlyAccess(): void
    {
        $credentials = $this->createProject();
        $this->runCommand($credentials, (new CreateBucketCommand())->setBucketId('in.c-ro'));
        $pdo = self::pdo($credentials);

        $this->runCommand($credentials, (new RevokeBucketAccessFromReadOnlyRoleCommand())->setBucketObjectName('in.c-ro'));
        self::assertFalse(self::rows($pdo, 'SELECT read_grant FROM duckstore.buckets')[0]['read_grant']);

        $response = $this->runCommand($credentials, (new GrantBucketAccessToReadOnlyRoleCommand())
            ->setDestinationObjectName('in.c-ro'));
        self::assertSame('in.c-ro', self::unpack($response, GrantBucketAccessToReadOnlyRoleResponse::class)
            ->getCreateBucketObjectName());
        self::assertTrue(self::rows($pdo, 'SELECT read_grant FROM duckstore.buckets')[0]['read_grant']);
    }

    public function testBigQueryExternalBucketsAreNotSupported(): void
    {
        $this->expectException(CommandNotSupportedException::class);
        $this->runCommand($this->createProject(), (new GrantBucketAccessToReadOnlyRoleCommand())
            ->setDestinationObjectName('in.c-ext')
            ->setPath(['gcp-project', 'US', 'exchanger', 'listing']));
    }

    public function testAForeignProjectsSecretIsRefused(): void
    {
        $mine = $this->createProject();
        $foreign = $this->createProject();
        try {
            $this->runCommand(self::credentials($mine->getPrincipal(), $foreign->getSecret()),
                (new CreateBucketCommand())->setBucketId('in.c-intruder'));
            self::fail('expected an authentication error');
        } catch (DuckstoreException $e) {
            self::assertSame(ErrorCode::AUTHENTICATION, $e->getCode());
        }
        self::assertSame([], self::rows(self::pdo($mine), 'SELECT id FROM duckstore.buckets'));
    }
}

-- A bucket shared with every project of the server (Keboola's organization-wide sharing: the
-- ShareBucket command names no target; who may link is Connection's decision).
ALTER TABLE buckets ADD COLUMN shared_with_all INTEGER NOT NULL DEFAULT 0;

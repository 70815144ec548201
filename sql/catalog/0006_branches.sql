-- Dev branches: a branch reads the default branch's buckets and tables live until it writes a
-- table, which copies that table into a bucket of the branch standing in for the default
-- branch's bucket. Tables and buckets dropped in a branch are hidden there only.

ALTER TABLE buckets ADD COLUMN mirrors_bucket_id INTEGER REFERENCES buckets(id) ON DELETE CASCADE;

CREATE TABLE branch_hidden (
    branch_id    INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    object_type  TEXT    NOT NULL CHECK (object_type IN ('bucket', 'table')),
    -- the default branch's bucket or table
    object_id    INTEGER NOT NULL,
    PRIMARY KEY (branch_id, object_type, object_id)
);

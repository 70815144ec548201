-- ALTER TABLE inside a transaction block (ADR 0012): the columns and primary key a transaction
-- gave a table, seen by that transaction alone until COMMIT writes them into `columns` and
-- `tables`. One row per table: a table's lock lets one transaction alter it at a time.
CREATE TABLE pending_schemas (
    table_id       INTEGER PRIMARY KEY REFERENCES tables(id) ON DELETE CASCADE,
    transaction_id INTEGER NOT NULL,
    columns        TEXT NOT NULL,
    primary_key    TEXT NOT NULL
);

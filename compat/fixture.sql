-- The data every target serves: PostgreSQL 15 and a storage session (in schema "in.c-compat"),
-- a workspace (in its own schema). Written in the SQL all three accept; {schema} is the quoted
-- schema name for the target (the runner substitutes it).
CREATE TABLE {schema}.customers (
    id INTEGER NOT NULL,
    name VARCHAR(40) NOT NULL,
    email TEXT,
    country CHAR(2),
    active BOOLEAN,
    created DATE,
    PRIMARY KEY (id)
);
CREATE TABLE {schema}.orders (
    id BIGINT NOT NULL,
    customer_id INTEGER NOT NULL,
    amount NUMERIC(12,2),
    quantity SMALLINT,
    discount REAL,
    weight DOUBLE PRECISION,
    note TEXT,
    ordered_at TIMESTAMP,
    shipped_at TIMESTAMP WITH TIME ZONE,
    PRIMARY KEY (id)
);
CREATE TABLE {schema}.events (
    kind TEXT,
    payload TEXT,
    happened TIMESTAMP
);
INSERT INTO {schema}.customers VALUES
    (1, 'Acme', 'ops@acme.example', 'US', true, DATE '2021-03-04'),
    (2, 'Globex', NULL, 'DE', false, DATE '2022-11-30'),
    (3, 'Initech', 'it@initech.example', 'US', NULL, NULL),
    (4, 'Umbrella', 'info@umbrella.example', 'GB', true, DATE '2020-01-01');
INSERT INTO {schema}.orders VALUES
    (1, 1, 120.50, 3, 0.1, 2.5, 'first', TIMESTAMP '2024-01-02 03:04:05', TIMESTAMP WITH TIME ZONE '2024-01-03 10:00:00+00'),
    (2, 1, 80.00, 1, NULL, 0.125, NULL, TIMESTAMP '2024-02-29 23:59:59', NULL),
    (3, 2, 42.25, 7, 0.25, 10, 'rush', TIMESTAMP '2024-03-01 00:00:00', TIMESTAMP WITH TIME ZONE '2024-03-02 12:30:00+00'),
    (4, 3, 0.99, 10, 0, 1e-3, 'tiny', TIMESTAMP '2023-12-31 12:00:00', NULL),
    (5, 4, 99999.99, 1, 0.5, 1234.5678, 'big', TIMESTAMP '2024-06-15 08:30:00', TIMESTAMP WITH TIME ZONE '2024-06-16 09:00:00+00'),
    (6, 2, -5.00, 2, NULL, NULL, 'refund', TIMESTAMP '2024-07-01 00:00:00', NULL);
INSERT INTO {schema}.events VALUES
    ('click', '{"x": 1}', TIMESTAMP '2024-01-01 00:00:00'),
    ('view', '{"x": 2, "y": [1, 2]}', TIMESTAMP '2024-01-01 00:00:01'),
    (NULL, NULL, NULL);
CREATE VIEW {schema}.big_orders AS SELECT id, customer_id, amount FROM {schema}.orders WHERE amount > 100;

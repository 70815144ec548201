-- node-postgres (pg 8.23, pg-cursor 2.22 from compat/node) against PostgreSQL 15, captured from the statement
-- log: pg sends no statements of its own on connect; a query with values goes through parse/bind/execute.

-- @ query-orders
-- captured: client.query('SELECT * FROM "in.c-compat".orders ORDER BY id') (no values: simple protocol)
SELECT * FROM {schema}.orders ORDER BY id

-- @ param-customer extended
-- captured: client.query('SELECT * FROM "in.c-compat".customers WHERE id = $1', [1]); $1 = '1' substituted
SELECT * FROM {schema}.customers WHERE id = '1'

-- @ param-two extended
-- captured: client.query('... WHERE country = $1 AND active = $2 ORDER BY id', ['US', true]); $1, $2 substituted
SELECT id, name FROM {schema}.customers WHERE country = 'US' AND active = 't' ORDER BY id

-- @ param-cast-sum extended
-- captured: client.query('SELECT $1::int + $2::int AS s', [2, 3]); $1, $2 substituted
SELECT '2'::int + '3'::int AS s

-- @ param-timestamp extended
-- captured: client.query('... WHERE ordered_at >= $1 ORDER BY id', ['2024-03-01']); pg sent $1 = '2024-03-01 00:00:00' (substituted)
SELECT amount, ordered_at, shipped_at FROM {schema}.orders WHERE ordered_at >= '2024-03-01 00:00:00' ORDER BY id

-- @ rowmode-array
-- captured: client.query({text: 'SELECT kind, payload FROM "in.c-compat".events ORDER BY happened NULLS LAST', rowMode: 'array'})
SELECT kind, payload FROM {schema}.events ORDER BY happened NULLS LAST

-- @ named-prepared extended
-- captured: client.query({name: 'by-customer', text: '... WHERE customer_id = $1', values: [2]}); $1 substituted
SELECT count(*) AS n, sum(amount) AS total FROM {schema}.orders WHERE customer_id = '2'

-- @ named-prepared-again extended
-- captured: the same named statement executed again with values [1]; $1 substituted
SELECT count(*) AS n, sum(amount) AS total FROM {schema}.orders WHERE customer_id = '1'

-- @ now shape
-- captured: client.query('SELECT NOW() AS now')
SELECT NOW() AS now

-- @ version shape
-- captured: client.query('SELECT version()')
SELECT version()

-- @ show-server-version shape
-- captured: client.query('SHOW server_version')
SHOW server_version

-- @ cursor-read extended
-- captured: pg-cursor: new Cursor('SELECT id, note FROM "in.c-compat".orders ORDER BY id').read(2)
SELECT id, note FROM {schema}.orders ORDER BY id

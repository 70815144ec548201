-- RowDescription probes: which result columns PostgreSQL reports as a table column (table OID and
-- column number) and which as an expression, and the column names and typmods it reports.

-- @ table-columns
-- probe: plain columns: table OID and column numbers 1, 2, 4
SELECT id, name, country FROM {schema}.customers ORDER BY id

-- @ table-star
-- probe: SELECT *: every column with its number and typmod
SELECT * FROM {schema}.orders ORDER BY id

-- @ expression-columns
-- probe: expressions: no table
SELECT id + 0, upper(name), name || '' FROM {schema}.customers ORDER BY id

-- @ cast-column
-- probe: a cast makes a column an expression
SELECT c.name::text, o.amount::numeric(10,1), o.id::int8 FROM {schema}.customers c JOIN {schema}.orders o ON o.customer_id = c.id ORDER BY o.id

-- @ aliased-column
-- probe: an alias keeps the table origin
SELECT c.id AS customer, c.name AS "Customer Name" FROM {schema}.customers c ORDER BY 1

-- @ view-columns
-- probe: view columns: the view is the table
SELECT id, customer_id, amount FROM {schema}.big_orders ORDER BY id

-- @ subquery-column
-- probe: columns passed through a subquery keep their origin
SELECT s.id, s.n FROM (SELECT id, name AS n FROM {schema}.customers) s ORDER BY 1

-- @ cte-column
-- probe: columns passed through a CTE
WITH x AS (SELECT id, email FROM {schema}.customers) SELECT id, email FROM x ORDER BY id

-- @ union-columns
-- probe: UNION: no table origin
SELECT id FROM {schema}.customers UNION ALL SELECT customer_id FROM {schema}.orders ORDER BY 1

-- @ group-by-column
-- probe: a grouped column keeps its origin, the aggregate has none
SELECT country, count(*) FROM {schema}.customers GROUP BY country ORDER BY country

-- @ join-columns
-- probe: columns of two tables
SELECT o.id, o.amount, c.name, c.id FROM {schema}.orders o JOIN {schema}.customers c ON c.id = o.customer_id ORDER BY o.id

-- @ outer-join-nullable
-- probe: outer-joined columns keep their origin
SELECT c.id, o.id FROM {schema}.customers c LEFT JOIN {schema}.orders o ON o.customer_id = c.id AND false ORDER BY c.id

-- @ window-column
-- probe: a window function column
SELECT id, row_number() OVER (ORDER BY id) FROM {schema}.orders ORDER BY id

-- @ case-column
-- probe: CASE: expression named "case"
SELECT CASE WHEN active THEN name END FROM {schema}.customers ORDER BY id

-- @ coalesce-column
-- probe: COALESCE: expression named "coalesce"
SELECT coalesce(email, name) FROM {schema}.customers ORDER BY id

-- @ names-defaults
-- probe: default column names: ?column?, count, sum, max, text, varchar, array, row, exists
SELECT 1, 1 + 1, 'a', count(*), sum(quantity), max(id), now() IS NOT NULL, CAST(1 AS text), 'x'::varchar, ARRAY[1], ROW(1, 2), EXISTS(SELECT 1), (SELECT 1), -id FROM {schema}.orders GROUP BY id ORDER BY id LIMIT 1

-- @ names-duplicate
-- probe: duplicate column names
SELECT id, id, id AS x, name AS id FROM {schema}.customers ORDER BY 1

-- @ names-case
-- probe: quoted and unquoted alias case
SELECT id AS "ID", id AS Id, id AS "mixedCase", id AS "with space" FROM {schema}.customers ORDER BY 1

-- @ names-long
-- probe: aliases are truncated to 63 bytes
SELECT 1 AS abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz

-- @ typmods
-- probe: typmods of varchar(40), char(2), numeric(12,2) and of timestamps without precision
SELECT name, country, amount, ordered_at, shipped_at FROM {schema}.customers c JOIN {schema}.orders o ON o.customer_id = c.id ORDER BY o.id

-- @ typmod-expressions
-- probe: typmods of casts
SELECT 'ab'::varchar(10), 1.5::numeric(6,3), now()::timestamp(2) IS NOT NULL, '12:00'::time(3), 'ab'::char(4)

-- @ typmod-through-union unordered
-- probe: UNION of the same typmod keeps it
SELECT 'a'::varchar(3) UNION ALL SELECT 'bb'::varchar(3)

-- @ typmod-mixed-union unordered
-- probe: UNION of different typmods drops it
SELECT 'a'::varchar(3) UNION ALL SELECT 'bb'::varchar(5)

-- @ typmod-aggregate
-- probe: aggregates drop the typmod
SELECT max(name), min(country), max(amount) FROM {schema}.customers c JOIN {schema}.orders o ON o.customer_id = c.id

-- @ values-columns
-- probe: VALUES columns column1, column2
VALUES (1, 'a'::varchar(2))

-- @ function-columns unordered
-- probe: a set-returning function column
SELECT * FROM generate_series(1, 2) AS g

-- @ function-columns-named
-- probe: multi-column unnest with aliases
SELECT * FROM unnest(ARRAY[1, 2], ARRAY['a', 'b']) AS t(n, s) ORDER BY n

-- @ empty-result-columns
-- probe: RowDescription of an empty result
SELECT id, name, created FROM {schema}.customers WHERE id < 0

-- @ select-nothing
-- probe: a SELECT of nothing: one row, no columns
SELECT

-- @ command-tag-show
-- probe: SHOW: one text column named after the setting, tag SHOW
SHOW DateStyle

-- @ command-tag-set
-- probe: SET: no columns, tag SET
SET application_name = 'compat'

-- @ command-tag-values-empty
-- probe: tag SELECT 0
SELECT * FROM (VALUES (1)) v(x) WHERE x > 1

-- Query-shape probes on the fixture: selecting the tables and the big_orders view, filters, joins,
-- grouping, ORDER BY with NULLS, LIMIT/OFFSET, CTEs, window functions, set operations, subqueries,
-- COALESCE/CASE result types.

-- @ customers
-- probe: the customers table
SELECT * FROM {schema}.customers ORDER BY id

-- @ orders
-- probe: the orders table: int8, int4, numeric(12,2), int2, float4, float8, text, timestamp, timestamptz
SELECT * FROM {schema}.orders ORDER BY id

-- @ events
-- probe: the events table with an all-NULL row
SELECT * FROM {schema}.events ORDER BY happened NULLS FIRST

-- @ big-orders
-- probe: the big_orders view
SELECT * FROM {schema}.big_orders ORDER BY id

-- @ big-orders-unordered unordered
-- probe: the view without ORDER BY
SELECT * FROM {schema}.big_orders

-- @ table-syntax unordered
-- probe: TABLE syntax
TABLE {schema}.customers

-- @ select-qualified
-- probe: columns qualified by table and schema.table
SELECT customers.id, {schema}.customers.name FROM {schema}.customers ORDER BY 1

-- @ where-in-between
-- probe: IN and BETWEEN
SELECT id FROM {schema}.orders WHERE customer_id IN (1, 2) AND amount BETWEEN 0 AND 100 ORDER BY id

-- @ where-null
-- probe: IS NULL filters
SELECT id FROM {schema}.customers WHERE email IS NULL OR active IS NULL ORDER BY id

-- @ where-timestamp
-- probe: timestamp filters with string literals
SELECT id FROM {schema}.orders WHERE ordered_at >= '2024-02-01' AND ordered_at < TIMESTAMP '2024-07-01' ORDER BY id

-- @ where-timestamptz
-- probe: timestamptz filter
SELECT id FROM {schema}.orders WHERE shipped_at > '2024-03-01 00:00:00+00' ORDER BY id

-- @ where-numeric
-- probe: numeric and float filters (float4 0.1 compared with a numeric literal)
SELECT id FROM {schema}.orders WHERE amount > 99.99 AND weight < 100 AND discount >= 0.1 ORDER BY id

-- @ order-nulls-default
-- probe: ascending puts NULLs last by default
SELECT id, discount FROM {schema}.orders ORDER BY discount, id

-- @ order-nulls-desc
-- probe: descending puts NULLs first by default
SELECT id, discount FROM {schema}.orders ORDER BY discount DESC, id

-- @ order-nulls-first
-- probe: NULLS FIRST
SELECT id, shipped_at FROM {schema}.orders ORDER BY shipped_at NULLS FIRST, id

-- @ order-nulls-last-desc
-- probe: DESC NULLS LAST
SELECT id, email FROM {schema}.customers ORDER BY email DESC NULLS LAST

-- @ order-by-expression
-- probe: ORDER BY an expression
SELECT id, amount FROM {schema}.orders ORDER BY amount * -1, id

-- @ order-by-ordinal-alias
-- probe: ORDER BY an alias, GROUP BY an ordinal
SELECT customer_id AS c, sum(amount) AS total FROM {schema}.orders GROUP BY 1 ORDER BY total DESC, c

-- @ order-bool
-- probe: booleans sort false < true < NULL
SELECT id, active FROM {schema}.customers ORDER BY active, id

-- @ limit
-- probe: LIMIT
SELECT id FROM {schema}.orders ORDER BY id LIMIT 2

-- @ limit-offset
-- probe: LIMIT OFFSET
SELECT id FROM {schema}.orders ORDER BY id LIMIT 2 OFFSET 3

-- @ offset-only
-- probe: OFFSET without LIMIT
SELECT id FROM {schema}.orders ORDER BY id OFFSET 4

-- @ limit-zero
-- probe: LIMIT 0: columns, no rows
SELECT id FROM {schema}.orders ORDER BY id LIMIT 0

-- @ limit-all
-- probe: LIMIT ALL
SELECT id FROM {schema}.orders ORDER BY id LIMIT ALL

-- @ fetch-first
-- probe: OFFSET/FETCH FIRST
SELECT id FROM {schema}.orders ORDER BY id OFFSET 1 ROWS FETCH FIRST 2 ROWS ONLY

-- @ fetch-with-ties unordered
-- probe: FETCH FIRST WITH TIES
SELECT id, quantity FROM {schema}.orders ORDER BY quantity FETCH FIRST 1 ROWS WITH TIES

-- @ distinct
-- probe: DISTINCT
SELECT DISTINCT country FROM {schema}.customers ORDER BY country

-- @ distinct-on
-- probe: DISTINCT ON
SELECT DISTINCT ON (customer_id) customer_id, id, amount FROM {schema}.orders ORDER BY customer_id, amount DESC

-- @ group-having
-- probe: GROUP BY/HAVING
SELECT customer_id, count(*), sum(amount) FROM {schema}.orders GROUP BY customer_id HAVING count(*) > 1 ORDER BY customer_id

-- @ group-filter
-- probe: aggregate FILTER
SELECT count(*) FILTER (WHERE amount > 50) AS big, count(*) FILTER (WHERE note IS NULL) AS no_note FROM {schema}.orders

-- @ group-rollup
-- probe: ROLLUP (ties broken by the count: the order among equal keys is unspecified)
SELECT country, active, count(*) FROM {schema}.customers GROUP BY ROLLUP (country, active) ORDER BY country NULLS LAST, active NULLS LAST, count(*)

-- @ grouping-sets
-- probe: GROUPING SETS and grouping()
SELECT country, active, count(*), grouping(country, active) FROM {schema}.customers GROUP BY GROUPING SETS ((country), (active), ()) ORDER BY 4, 1 NULLS LAST, 2 NULLS LAST

-- @ join-inner
-- probe: inner join
SELECT o.id, c.name, o.amount FROM {schema}.orders o JOIN {schema}.customers c ON c.id = o.customer_id ORDER BY o.id

-- @ join-left
-- probe: left join with extra condition
SELECT c.id, c.name, o.id AS order_id FROM {schema}.customers c LEFT JOIN {schema}.orders o ON o.customer_id = c.id AND o.amount > 100 ORDER BY c.id, o.id

-- @ join-full
-- probe: full join with the view
SELECT c.id, b.id FROM {schema}.customers c FULL JOIN {schema}.big_orders b ON b.customer_id = c.id ORDER BY c.id NULLS LAST, b.id

-- @ join-using
-- probe: JOIN USING
SELECT id, c.name FROM {schema}.customers c JOIN (SELECT customer_id AS id, count(*) AS n FROM {schema}.orders GROUP BY 1) s USING (id) ORDER BY id

-- @ join-cross-count
-- probe: cross join
SELECT count(*) FROM {schema}.customers CROSS JOIN {schema}.orders

-- @ join-lateral
-- probe: LATERAL subquery
SELECT c.id, l.id AS last_order FROM {schema}.customers c LEFT JOIN LATERAL (SELECT id FROM {schema}.orders o WHERE o.customer_id = c.id ORDER BY ordered_at DESC LIMIT 1) l ON true ORDER BY c.id

-- @ subquery-scalar
-- probe: correlated scalar subquery
SELECT id, (SELECT name FROM {schema}.customers c WHERE c.id = o.customer_id) AS customer FROM {schema}.orders o ORDER BY id

-- @ subquery-exists
-- probe: EXISTS
SELECT id FROM {schema}.customers c WHERE EXISTS (SELECT 1 FROM {schema}.orders o WHERE o.customer_id = c.id AND o.amount < 0) ORDER BY id

-- @ subquery-in
-- probe: IN (subquery) against the view
SELECT id FROM {schema}.customers WHERE id IN (SELECT customer_id FROM {schema}.big_orders) ORDER BY id

-- @ subquery-not-in-null
-- probe: NOT IN with a NULL yields no rows
SELECT id FROM {schema}.customers WHERE id NOT IN (SELECT NULL::int) ORDER BY id

-- @ subquery-any-all
-- probe: > ALL (subquery)
SELECT id FROM {schema}.orders WHERE amount > ALL (SELECT amount FROM {schema}.orders WHERE customer_id = 2) ORDER BY id

-- @ cte
-- probe: CTE
WITH t AS (SELECT customer_id, sum(amount) AS total FROM {schema}.orders GROUP BY customer_id) SELECT c.name, t.total FROM t JOIN {schema}.customers c ON c.id = t.customer_id ORDER BY t.total DESC

-- @ cte-recursive
-- probe: recursive CTE
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n, n * n FROM r ORDER BY n

-- @ cte-materialized
-- probe: CTE AS MATERIALIZED
WITH t AS MATERIALIZED (SELECT id FROM {schema}.orders) SELECT count(*) FROM t

-- @ window-row-number
-- probe: row_number() is int8
SELECT id, customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY id) FROM {schema}.orders ORDER BY id

-- @ window-rank
-- probe: rank/dense_rank (int8), percent_rank/cume_dist (float8)
SELECT id, quantity, rank() OVER (ORDER BY quantity), dense_rank() OVER (ORDER BY quantity), percent_rank() OVER (ORDER BY quantity), cume_dist() OVER (ORDER BY quantity) FROM {schema}.orders ORDER BY id

-- @ window-lag-lead
-- probe: lag/lead/first_value/last_value with a named window
SELECT id, amount, lag(amount) OVER w, lead(amount, 2, 0) OVER w, first_value(amount) OVER w, last_value(amount) OVER w FROM {schema}.orders WINDOW w AS (ORDER BY id) ORDER BY id

-- @ window-running-sum
-- probe: window frames
SELECT id, amount, sum(amount) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), avg(amount) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM {schema}.orders ORDER BY id

-- @ window-partition-agg
-- probe: partitioned aggregates
SELECT id, customer_id, count(*) OVER (PARTITION BY customer_id), max(amount) OVER (PARTITION BY customer_id) FROM {schema}.orders ORDER BY id

-- @ window-ntile-nth
-- probe: ntile/nth_value
SELECT id, ntile(3) OVER (ORDER BY id), nth_value(id, 2) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM {schema}.orders ORDER BY id

-- @ union
-- probe: UNION removes duplicates
SELECT id FROM {schema}.customers UNION SELECT customer_id FROM {schema}.orders ORDER BY 1

-- @ union-all-types
-- probe: UNION ALL of int4/int8 and varchar/text: resolved types
SELECT id, name FROM {schema}.customers UNION ALL SELECT id, note FROM {schema}.orders ORDER BY 1, 2

-- @ intersect-except
-- probe: INTERSECT and EXCEPT
SELECT customer_id FROM {schema}.orders INTERSECT SELECT id FROM {schema}.customers EXCEPT SELECT 4 ORDER BY 1

-- @ values
-- probe: VALUES list with column aliases
SELECT * FROM (VALUES (1, 'a', 1.5), (2, 'b', NULL)) AS v(n, s, x) ORDER BY n

-- @ values-bare unordered
-- probe: bare VALUES: column1, column2
VALUES (1, 'one'), (2, 'two')

-- @ generate-series
-- probe: generate_series(int)
SELECT g, g * 2 FROM generate_series(1, 5) g ORDER BY g

-- @ generate-series-ts
-- probe: generate_series(timestamp, interval)
SELECT d FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-03', interval '12 hours') d ORDER BY d

-- @ coalesce-types
-- probe: COALESCE result types: float4, text, int4 (int2 and int4), timestamptz
SELECT id, coalesce(discount, 0), coalesce(note, '-'), coalesce(quantity, 0), coalesce(shipped_at, ordered_at) FROM {schema}.orders ORDER BY id

-- @ coalesce-numeric-int
-- probe: COALESCE type resolution
SELECT coalesce(NULL, 1, 2.5), coalesce(1::int2, 2::int8), coalesce(NULL::varchar(3), 'abcd')

-- @ case-types
-- probe: CASE result types: numeric, text
SELECT id, CASE WHEN amount > 100 THEN 1 ELSE 1.5 END, CASE WHEN amount > 100 THEN 'big' END, CASE quantity WHEN 1 THEN 'one' WHEN 3 THEN 'three' ELSE 'many' END FROM {schema}.orders ORDER BY id

-- @ case-varchar
-- probe: CASE over varchar(40) and unknown: varchar without typmod
SELECT id, CASE WHEN active THEN name ELSE 'x' END FROM {schema}.customers ORDER BY id

-- @ greatest-least
-- probe: GREATEST/LEAST (NULLs ignored)
SELECT id, greatest(amount, 100), least(ordered_at, shipped_at) FROM {schema}.orders ORDER BY id

-- @ nullif-division
-- probe: NULLIF to avoid division by zero
SELECT id, amount / nullif(quantity - 1, 0) FROM {schema}.orders ORDER BY id

-- @ in-list-types
-- probe: IN lists compared with char(2) and date
SELECT id FROM {schema}.customers WHERE country IN ('US', 'GB') AND created IN ('2021-03-04', '2020-01-01') ORDER BY id

-- @ any-array
-- probe: = ANY (array)
SELECT id FROM {schema}.orders WHERE id = ANY (ARRAY[2, 4, 6]) ORDER BY id

-- @ exists-count
-- probe: EXISTS and scalar subquery types
SELECT EXISTS (SELECT 1 FROM {schema}.orders WHERE amount > 1000), (SELECT count(*) FROM {schema}.events)

-- @ select-no-from
-- probe: SELECT without FROM: unknown literal resolved to text
SELECT 1 AS one, 'x' AS x, 2.5 AS y, NULL AS n, true AS t

-- @ select-zero-rows
-- probe: zero rows: RowDescription only
SELECT id, name FROM {schema}.customers WHERE false

-- @ select-empty-targetlist unordered
-- probe: SELECT with an empty target list: four rows of no columns
SELECT FROM {schema}.customers

-- @ tablesample-count
-- probe: TABLESAMPLE
SELECT count(*) <= 6 FROM {schema}.orders TABLESAMPLE SYSTEM (100)

-- @ view-join
-- probe: joining the view to a table
SELECT b.id, c.name FROM {schema}.big_orders b JOIN {schema}.customers c ON c.id = b.customer_id ORDER BY b.id

-- @ view-aggregate
-- probe: aggregates over the view
SELECT count(*), sum(amount), avg(amount) FROM {schema}.big_orders

-- @ events-distinct-kind
-- probe: group by a column with NULL
SELECT kind, count(*) FROM {schema}.events GROUP BY kind ORDER BY kind NULLS FIRST

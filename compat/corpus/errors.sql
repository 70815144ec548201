-- Error probes: statements PostgreSQL refuses, compared by SQLSTATE. Syntax, unknown objects,
-- type errors, invalid input, grouping, cardinality and transaction-state errors. All read-only.

-- @ syntax
-- probe: syntax error: 42601
SELEC 1

-- @ syntax-trailing
-- probe: incomplete statement: 42601
SELECT 1 FROM

-- @ syntax-unterminated-string
-- probe: unterminated quoted string: 42601
SELECT 'abc

-- @ syntax-unterminated-identifier
-- probe: unterminated quoted identifier: 42601
SELECT "abc

-- @ undefined-table
-- probe: unknown table: 42P01
SELECT * FROM {schema}.no_such_table

-- @ undefined-schema
-- probe: unknown schema: 3F000 or 42P01 (PostgreSQL says 42P01)
SELECT * FROM no_such_schema.customers

-- @ undefined-table-unqualified
-- probe: fixture table without its schema (not on the search path): 42P01
SELECT * FROM customers

-- @ undefined-column
-- probe: unknown column: 42703
SELECT no_such_column FROM {schema}.customers

-- @ undefined-column-qualified
-- probe: unknown qualified column: 42703
SELECT c.nope FROM {schema}.customers c

-- @ undefined-function
-- probe: unknown function: 42883
SELECT no_such_function(1)

-- @ undefined-function-args
-- probe: no function matches the arguments: 42883
SELECT length(1, 2, 3)

-- @ undefined-operator
-- probe: no operator text + integer: 42883
SELECT 'a'::text + 1

-- @ undefined-operator-date
-- probe: no operator date * integer: 42883
SELECT DATE '2024-01-01' * 2

-- @ undefined-type
-- probe: unknown type: 42704
SELECT 1::no_such_type

-- @ ambiguous-column
-- probe: ambiguous column: 42702
SELECT id FROM {schema}.customers c JOIN {schema}.orders o ON o.customer_id = c.id

-- @ ambiguous-function
-- probe: wrong arguments to an overloaded function: 42883
SELECT to_char(1)

-- @ grouping-error
-- probe: ungrouped column: 42803
SELECT customer_id, amount FROM {schema}.orders GROUP BY customer_id

-- @ aggregate-in-where
-- probe: aggregate in WHERE: 42803
SELECT id FROM {schema}.orders WHERE sum(amount) > 1

-- @ nested-aggregate
-- probe: nested aggregates: 42803
SELECT sum(count(*)) FROM {schema}.orders

-- @ window-in-where
-- probe: window function in WHERE: 42P20
SELECT id FROM {schema}.orders WHERE row_number() OVER () > 1

-- @ datatype-mismatch-where
-- probe: WHERE must be boolean: 42804
SELECT id FROM {schema}.customers WHERE 1

-- @ datatype-mismatch-case
-- probe: CASE branches of incompatible types: 42804
SELECT CASE WHEN true THEN 1 ELSE 'a'::text END

-- @ datatype-mismatch-union
-- probe: UNION of integer and text: 42804
SELECT 1 UNION SELECT 'a'::text

-- @ datatype-mismatch-compare
-- probe: date compared with an integer: 42883
SELECT id FROM {schema}.customers WHERE created = 5

-- @ invalid-text-int
-- probe: string literal not an integer: 22P02
SELECT id FROM {schema}.customers WHERE id = 'abc'

-- @ invalid-text-date-column
-- probe: string literal not a date: 22007
SELECT id FROM {schema}.customers WHERE created > 'yesterday-ish'

-- @ invalid-timestamp-column
-- probe: February 30th as a timestamp: 22008
SELECT id FROM {schema}.orders WHERE ordered_at = '2024-02-30 00:00:00'

-- @ invalid-regex
-- probe: invalid regular expression: 2201B
SELECT 'a' ~ '('

-- @ invalid-escape
-- probe: LIKE pattern ending in the escape: 22025
SELECT 'ab' LIKE 'a\' ESCAPE '\\'

-- @ invalid-argument-repeat
-- probe: negative substring length: 22011
SELECT substring('abc' FROM 1 FOR -1)

-- @ invalid-argument-log
-- probe: logarithm of zero: 2201E
SELECT ln(0)

-- @ invalid-argument-sqrt
-- probe: square root of a negative: 2201F
SELECT sqrt(-1)

-- @ invalid-power
-- probe: zero raised to a negative power: 2201F
SELECT 0 ^ -1

-- @ invalid-array-subscript
-- probe: text subscript of an int array: 22P02
SELECT ('{1,2}'::int[])['a']

-- @ cardinality-subquery
-- probe: scalar subquery returning more than one row: 21000
SELECT (SELECT id FROM {schema}.customers)

-- @ subquery-columns
-- probe: subquery with too many columns: 42601
SELECT id FROM {schema}.customers WHERE id IN (SELECT id, name FROM {schema}.customers)

-- @ column-count-values
-- probe: VALUES lists of different lengths: 42601
SELECT * FROM (VALUES (1, 2), (3)) v

-- @ order-by-position
-- probe: ORDER BY position out of range: 42P10
SELECT id FROM {schema}.customers ORDER BY 2

-- @ group-by-position
-- probe: GROUP BY position out of range: 42P10
SELECT id FROM {schema}.customers GROUP BY 5

-- @ distinct-order-by
-- probe: ORDER BY not in the DISTINCT list: 42P10
SELECT DISTINCT country FROM {schema}.customers ORDER BY name

-- @ limit-negative
-- probe: negative LIMIT: 2201W
SELECT id FROM {schema}.customers LIMIT -1

-- @ offset-negative
-- probe: negative OFFSET: 2201X
SELECT id FROM {schema}.customers OFFSET -1

-- @ duplicate-alias
-- probe: table alias used twice: 42712
SELECT * FROM {schema}.customers c, {schema}.customers c

-- @ missing-from-entry
-- probe: missing FROM-clause entry: 42P01
SELECT x.id FROM {schema}.customers c

-- @ recursive-cte-bad
-- probe: recursive reference twice: 42P19
WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n FROM r, r AS r2) SELECT * FROM r

-- @ division-by-zero-aggregate
-- probe: division by a zero count: 22012
SELECT sum(amount) / count(*) FILTER (WHERE false) FROM {schema}.orders

-- @ json-invalid-path
-- probe: strict path with a missing key: 2203A
SELECT jsonb_path_query('{"a": 1}', 'strict $.b')

-- @ cast-json-to-int-array
-- probe: jsonb object to integer: 22023
SELECT '{"a": 1}'::jsonb::int

-- @ prepared-missing
-- probe: unknown prepared statement: 26000
EXECUTE no_such_prepared

-- @ deallocate-missing
-- probe: unknown prepared statement: 26000
DEALLOCATE no_such_prepared

-- @ cursor-missing
-- probe: unknown cursor: 34000
FETCH 1 FROM no_such_cursor

-- @ empty-target-in-values
-- probe: VALUES with an empty row: 42601
VALUES ()

-- @ reserved-word-column
-- probe: a reserved word as a column name: 42601
SELECT select FROM {schema}.customers

-- @ too-many-arguments
-- probe: too many arguments: 42883
SELECT upper('a', 'b')

-- @ set-invalid-value
-- probe: invalid value for a setting: 22023
SET extra_float_digits = 'abc'

-- @ set-unknown
-- probe: unknown setting: 42704
SET no_such_setting = 1

-- @ set-readonly-setting
-- probe: a read-only setting: 55P02
SET server_version = '1'

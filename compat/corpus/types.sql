-- Typed-value probes: text formats and typmods of floats, numerics, character types, booleans,
-- dates, times, timestamps, intervals, bytea, uuid, arrays and NULLs, and the casts between them.

-- @ float8-1e100
-- probe: float8 exponent format: 1e+100
SELECT 1e100::float8

-- @ float8-small
-- probe: small float8 text: 1e-05 and 0.0001
SELECT 1e-5::float8, 0.0001::float8

-- @ float8-large
-- probe: large float8 text
SELECT 123456789012345678::float8, 1e15::float8, 1e16::float8

-- @ float8-integral
-- probe: integral float8 values print without a fraction
SELECT 123456.0::float8, 3::float8

-- @ float4-tenth
-- probe: float4 0.1 and its float8 widening
SELECT 0.1::float4, 0.1::float4::float8

-- @ float4-digits
-- probe: float4 precision
SELECT 3.14159265358979::float4, 16777217::float4

-- @ float-nan
-- probe: NaN text
SELECT 'NaN'::float8, 'nan'::float4

-- @ float-infinity
-- probe: Infinity text
SELECT 'Infinity'::float8, '-Infinity'::float8, 'inf'::float4

-- @ float-negative-zero
-- probe: negative zero prints as -0
SELECT -0.0::float8, '-0'::float8, 0.0::float8 * -1

-- @ float-text-cast
-- probe: float to text casts
SELECT 1.5::float8::text, 1e100::float8::text, 0.1::float4::text

-- @ float-from-text
-- probe: float input parsing
SELECT '  1.5  '::float8, '1E3'::float8, '.5'::float4

-- @ float-invalid
-- probe: invalid float input: 22P02
SELECT 'abc'::float8

-- @ numeric-typmod-pad
-- probe: numeric(10,2) pads to scale 2; typmod in RowDescription
SELECT 1.5::numeric(10,2), 1.50::numeric(10,2)

-- @ numeric-typmod-round
-- probe: numeric(10,2) rounds half away from zero
SELECT 1.555::numeric(10,2), 1.554::numeric(10,2), -1.555::numeric(10,2)

-- @ numeric-no-typmod
-- probe: numeric without typmod keeps the input scale
SELECT 1.500::numeric, 1.50::numeric, 100::numeric

-- @ numeric-scale-zero
-- probe: numeric(5,0) rounds to an integer
SELECT 123.5::numeric(5,0), 123.4::numeric(5)

-- @ numeric-tiny
-- probe: small numerics keep their digits
SELECT 0.000001, 1e-10::numeric, 1.0e-3

-- @ numeric-big
-- probe: big numerics
SELECT 123456789012345678901234567890.123456789, 1e30::numeric

-- @ numeric-trailing-zeros
-- probe: trailing zeros and trim_scale/scale/min_scale
SELECT 10.00 * 1, trim_scale(10.500), scale(10.500), min_scale(10.500)

-- @ numeric-column
-- probe: numeric(12,2) column and its casts
SELECT id, amount, amount::text, amount::numeric(14,4), amount::float8 FROM {schema}.orders ORDER BY id

-- @ numeric-negative-scale-text
-- probe: numeric input forms
SELECT '1.5e3'::numeric, '-0.00'::numeric, '+7'::numeric

-- @ numeric-invalid
-- probe: invalid numeric input: 22P02
SELECT '1.2.3'::numeric

-- @ varchar-typmod
-- probe: varchar(5): typmod 9 in RowDescription
SELECT 'ab'::varchar(5)

-- @ char-typmod
-- probe: char(5) pads with spaces; || on bpchar strips them
SELECT 'ab'::char(5), 'ab'::character(5) || '|'

-- @ char-length
-- probe: length of char ignores padding
SELECT length('ab'::char(5)), octet_length('ab'::char(5)), char_length('ab   '::varchar)

-- @ varchar-truncate
-- probe: explicit casts truncate silently
SELECT 'abcdef'::varchar(3), 'abcdef'::char(3)

-- @ char-compare
-- probe: bpchar comparison ignores trailing spaces, varchar does not
SELECT 'ab'::char(5) = 'ab', 'ab '::varchar = 'ab', 'ab'::char(5) = 'ab   '::char(5)

-- @ char-no-length
-- probe: char without length is char(1); bpchar without typmod
SELECT 'abc'::char, 'abc'::bpchar, 'abc'::character varying

-- @ name-type
-- probe: name, "char" and text
SELECT 'abc'::name, 'a'::"char", 'abc'::text

-- @ varchar-concat-type
-- probe: varchar || varchar is text
SELECT 'a'::varchar(3) || 'b'::varchar(3), concat('a'::varchar(3), 1)

-- @ char-columns
-- probe: varchar(40) and char(2) columns, typmods
SELECT id, name, country, country || '!' AS c2, name::char(10) FROM {schema}.customers ORDER BY id

-- @ text-cast-int
-- probe: text to integer casts allow surrounding spaces
SELECT '42'::int, ' 42 '::int4, '-7'::int2, '9000000000'::int8

-- @ text-cast-int-invalid
-- probe: text 4.2 to int: 22P02
SELECT '4.2'::int

-- @ text-cast-empty
-- probe: empty string to int: 22P02
SELECT ''::int

-- @ int-to-text
-- probe: integer to text, varchar(1) truncates
SELECT 42::text, (-7)::int2::text, 42::varchar(1)

-- @ bool-literals
-- probe: boolean input forms
SELECT true, false, 't'::bool, 'yes'::boolean, 'on'::bool, '1'::bool, 'off'::bool, 'N'::bool

-- @ bool-invalid
-- probe: invalid boolean input: 22P02
SELECT 'maybe'::bool

-- @ bool-logic-null
-- probe: three-valued logic
SELECT true AND NULL, false AND NULL, true OR NULL, NOT NULL::bool

-- @ bool-casts
-- probe: boolean casts
SELECT true::int, 0::bool, 5::boolean, true::text, false::varchar

-- @ bool-column
-- probe: boolean column with NULL
SELECT id, active, NOT active, active IS TRUE, active IS NOT FALSE, active IS UNKNOWN FROM {schema}.customers ORDER BY id

-- @ date-literal
-- probe: date text (DateStyle ISO)
SELECT DATE '2024-02-29', '2024-02-29'::date, date '1999-01-08'

-- @ date-invalid
-- probe: February 30th: 22008
SELECT '2024-02-30'::date

-- @ date-garbage
-- probe: unparseable date: 22007
SELECT 'not a date'::date

-- @ date-arith
-- probe: date + int is date, date - date is int4, date + interval is timestamp
SELECT DATE '2024-02-28' + 1, DATE '2024-03-01' - DATE '2024-02-01', DATE '2024-01-31' + interval '1 month', DATE '2024-01-01' - 1

-- @ date-special
-- probe: special date values
SELECT 'infinity'::date, '-infinity'::date, 'epoch'::date

-- @ date-extract
-- probe: extract is numeric, date_part is float8
SELECT extract(year FROM DATE '2024-02-29'), date_part('doy', DATE '2024-02-29'), extract(dow FROM DATE '2024-02-29'), extract(epoch FROM DATE '2024-02-29')

-- @ date-trunc-date
-- probe: date_trunc on a date: timestamp with time zone
SELECT date_trunc('month', DATE '2024-02-15')

-- @ date-to-char
-- probe: to_char of a date
SELECT to_char(DATE '2024-02-29', 'YYYY-MM-DD Dy Mon'), to_char(DATE '2024-02-29', 'DD.MM.YYYY')

-- @ date-column
-- probe: date column arithmetic
SELECT id, created, created + 30, created - DATE '2020-01-01', extract(year FROM created) FROM {schema}.customers ORDER BY id

-- @ date-bc
-- probe: BC dates and make_date
SELECT '0044-03-15 BC'::date, make_date(2024, 2, 29)

-- @ timestamp-literal
-- probe: timestamp text
SELECT TIMESTAMP '2024-01-02 03:04:05', '2024-01-02 03:04:05.123456'::timestamp, '2024-01-02T03:04:05'::timestamp

-- @ timestamp-typmod
-- probe: timestamp(p) rounds; typmod in RowDescription
SELECT '2024-01-02 03:04:05.123456'::timestamp(0), '2024-01-02 03:04:05.123456'::timestamp(3), '2024-01-02 03:04:05.5'::timestamp(0)

-- @ timestamptz-literal
-- probe: timestamptz printed in the session time zone (UTC)
SELECT TIMESTAMPTZ '2024-01-02 03:04:05+02', '2024-06-01 12:00:00 Europe/Prague'::timestamptz

-- @ timestamptz-typmod
-- probe: timestamptz(2)
SELECT '2024-01-02 03:04:05.987654+00'::timestamptz(2)

-- @ timestamp-at-time-zone
-- probe: AT TIME ZONE flips between timestamp and timestamptz
SELECT TIMESTAMP '2024-01-02 03:04:05' AT TIME ZONE 'UTC', TIMESTAMPTZ '2024-01-02 03:04:05+00' AT TIME ZONE 'America/New_York'

-- @ timestamp-special
-- probe: special timestamp values
SELECT 'infinity'::timestamp, '-infinity'::timestamptz, 'epoch'::timestamp, 'epoch'::timestamptz

-- @ timestamp-arith
-- probe: timestamp - timestamp is interval
SELECT TIMESTAMP '2024-03-01 00:00:00' - TIMESTAMP '2024-02-28 12:00:00', TIMESTAMP '2024-01-31 10:00' + interval '1 month', TIMESTAMP '2024-01-01' - interval '1 second'

-- @ timestamp-trunc
-- probe: date_trunc keeps timestamp/timestamptz
SELECT date_trunc('hour', TIMESTAMP '2024-01-02 03:04:05'), date_trunc('week', TIMESTAMP '2024-01-03 03:04:05'), date_trunc('quarter', TIMESTAMPTZ '2024-05-02 03:04:05+00')

-- @ timestamp-extract
-- probe: extract returns numeric
SELECT extract(epoch FROM TIMESTAMP '2024-01-02 03:04:05.5'), extract(microseconds FROM TIMESTAMP '2024-01-02 03:04:05.5'), extract(isodow FROM TIMESTAMP '2024-01-07'), extract(timezone FROM TIMESTAMPTZ '2024-01-01 00:00:00+00')

-- @ timestamp-to-char
-- probe: to_char of a timestamp
SELECT to_char(TIMESTAMP '2024-01-02 13:04:05.123', 'YYYY-MM-DD HH24:MI:SS.MS'), to_char(TIMESTAMP '2024-01-02 13:04:05', 'HH12 AM Day Month')

-- @ to-timestamp
-- probe: to_timestamp is timestamptz, to_date is date
SELECT to_timestamp(0), to_timestamp(1704164645.5), to_timestamp('2024-01-02 03:04', 'YYYY-MM-DD HH24:MI'), to_date('02.01.2024', 'DD.MM.YYYY')

-- @ timestamp-columns
-- probe: timestamp and timestamptz columns and their casts
SELECT id, ordered_at, shipped_at, shipped_at - ordered_at, ordered_at::date, shipped_at::date, ordered_at::timestamptz FROM {schema}.orders ORDER BY id

-- @ timestamp-invalid
-- probe: month 13: 22008
SELECT '2024-13-01 00:00:00'::timestamp

-- @ make-timestamp
-- probe: make_timestamp/make_timestamptz
SELECT make_timestamp(2024, 2, 29, 12, 30, 45.5), make_timestamptz(2024, 2, 29, 12, 30, 45.5, 'UTC')

-- @ timestamp-compare-date
-- probe: date vs timestamp comparison
SELECT TIMESTAMP '2024-01-01 00:00:00' = DATE '2024-01-01', DATE '2024-01-02' > TIMESTAMP '2024-01-01 23:59:59'

-- @ time-literal
-- probe: time and timetz text
SELECT TIME '12:34:56', '12:34:56.789'::time(1), '23:59:60'::time, TIME WITH TIME ZONE '12:00:00+02'

-- @ time-arith
-- probe: time arithmetic wraps; date + time is timestamp
SELECT TIME '23:00' + interval '2 hours', TIME '12:00' - TIME '10:30', DATE '2024-01-01' + TIME '12:00'

-- @ interval-literal
-- probe: interval text (IntervalStyle postgres)
SELECT interval '1 day 2 hours', interval '90 minutes', '1 year 2 months 3 days'::interval, interval '1.5 days'

-- @ interval-negative
-- probe: negative interval parts
SELECT interval '-1 day', interval '1 day -2 hours', -interval '3 hours 4 minutes'

-- @ interval-iso
-- probe: ISO 8601 and SQL interval input
SELECT 'P1Y2M3DT4H5M6S'::interval, '1-2'::interval year to month, interval '3 4:05:06' day to second

-- @ interval-typmod
-- probe: interval typmods
SELECT interval '1 day 02:03:04.56789'::interval(2), interval '100 seconds' minute to second

-- @ interval-arith
-- probe: interval arithmetic and justify_*
SELECT interval '1 hour' * 2.5, interval '1 day' / 3, interval '1 month' + interval '40 days', justify_hours(interval '36 hours'), justify_days(interval '45 days'), justify_interval(interval '1 month -1 hour')

-- @ interval-extract
-- probe: extract from intervals
SELECT extract(epoch FROM interval '1 day 2 hours'), extract(hour FROM interval '1 day 2 hours'), date_part('day', interval '40 days')

-- @ age
-- probe: age()
SELECT age(TIMESTAMP '2024-03-01', TIMESTAMP '2023-01-15'), age(DATE '2024-03-01', DATE '2024-02-29')

-- @ make-interval
-- probe: make_interval
SELECT make_interval(years => 1, days => 2, secs => 3.5), make_interval(hours => 25)

-- @ interval-compare
-- probe: interval equality normalises
SELECT interval '1 day' = interval '24 hours', interval '1 month' = interval '30 days', interval '1 year' > interval '360 days'

-- @ bytea-hex
-- probe: bytea output in hex
SELECT '\x0102ff'::bytea, 'abc'::bytea, decode('48656c6c6f', 'hex')

-- @ bytea-functions
-- probe: bytea functions
SELECT length('\x0102ff'::bytea), encode('abc'::bytea, 'base64'), encode('\x00ff'::bytea, 'hex'), md5('abc'::bytea), get_byte('\x0102'::bytea, 1)

-- @ bytea-escape-input
-- probe: escape-format bytea input, convert_to
SELECT E'\\001abc'::bytea, convert_to('žluť', 'UTF8')

-- @ uuid
-- probe: uuid input forms, lower-case output
SELECT 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid, '{a0eebc999c0b4ef8bb6d6bb9bd380a11}'::uuid::text

-- @ uuid-invalid
-- probe: invalid uuid: 22P02
SELECT 'a0eebc99'::uuid

-- @ inet-cidr
-- probe: network types
SELECT '192.168.1.5/24'::inet, '192.168.1.0/24'::cidr, '::1'::inet, host('10.0.0.1/8'::inet), '192.168.1.5'::inet << '192.168.1.0/24'::inet

-- @ oid-types
-- probe: oid, regtype and regclass (built-in OIDs are fixed in PostgreSQL)
SELECT 23::oid, 'int4'::regtype, 'int4'::regtype::oid, 'pg_catalog.pg_class'::regclass, 'pg_catalog.pg_class'::regclass::oid

-- @ array-int
-- probe: array types and text
SELECT ARRAY[1, 2, 3], ARRAY[1, 2, 3]::int8[], ARRAY[1.5, 2]

-- @ array-text
-- probe: text array quoting and NULL
SELECT ARRAY['a', 'b c', NULL, 'd"e', ''], ARRAY['x']::varchar(3)[]

-- @ array-literal
-- probe: array literals, empty and 2-D arrays
SELECT '{1,2,3}'::int[], '{}'::text[], '{{1,2},{3,4}}'::int[], '{"a,b",c}'::text[]

-- @ array-access
-- probe: subscripts and slices (out of range is NULL)
SELECT (ARRAY[10, 20, 30])[2], (ARRAY[10, 20, 30])[5], (ARRAY[10, 20, 30])[2:3], ('{{1,2},{3,4}}'::int[])[2][1]

-- @ array-functions
-- probe: array metadata functions
SELECT array_length(ARRAY[1, 2, 3], 1), cardinality('{{1,2},{3,4}}'::int[]), array_dims('{{1,2},{3,4}}'::int[]), array_upper(ARRAY[1, 2], 1), array_position(ARRAY['a', 'b'], 'b')

-- @ array-ops
-- probe: array operators
SELECT ARRAY[1, 2] || 3, 0 || ARRAY[1, 2], ARRAY[1, 2] || ARRAY[3], ARRAY[1, 2] @> ARRAY[2], ARRAY[1, 2] && ARRAY[2, 5], 2 = ANY (ARRAY[1, 2]), 3 > ALL (ARRAY[1, 2])

-- @ array-string
-- probe: array/string conversions
SELECT array_to_string(ARRAY[1, NULL, 3], ',', '*'), string_to_array('a,b,,c', ','), string_to_array('a b', ' ', 'b'), array_remove(ARRAY[1, 2, 1], 1), array_replace(ARRAY[1, 2], 2, 9)

-- @ array-unnest
-- probe: unnest WITH ORDINALITY
SELECT x, n FROM unnest(ARRAY['a', 'b', 'c']) WITH ORDINALITY AS t(x, n) ORDER BY n

-- @ array-agg-column
-- probe: array_agg of int8 and text columns
SELECT customer_id, array_agg(id ORDER BY id), array_agg(note ORDER BY id) FROM {schema}.orders GROUP BY customer_id ORDER BY customer_id

-- @ array-empty-typed
-- probe: empty arrays and ARRAY(subquery)
SELECT ARRAY[]::int[], array_length(ARRAY[]::int[], 1), ARRAY(SELECT id FROM {schema}.customers ORDER BY id)

-- @ array-mixed-invalid
-- probe: array of int and a non-number text: 22P02
SELECT ARRAY[1, 'a']

-- @ null-bare
-- probe: an untyped NULL is reported as text
SELECT NULL

-- @ null-typed
-- probe: typed NULLs keep type and typmod
SELECT NULL::int, NULL::numeric(5,2), NULL::date, NULL::bool

-- @ null-compare
-- probe: NULL comparisons
SELECT NULL = NULL, NULL IS NULL, NULL IS DISTINCT FROM NULL, 1 IS DISTINCT FROM NULL, NULL::int IN (1, NULL)

-- @ null-functions
-- probe: coalesce, nullif, || and concat with NULL
SELECT coalesce(NULL, 1), coalesce(NULL, NULL, 'x'), nullif(1, 1), nullif(1, 2), 'a' || NULL, concat('a', NULL, 'b')

-- @ null-column-counts
-- probe: count skips NULLs
SELECT count(*), count(email), count(active), count(created) FROM {schema}.customers

-- @ row-constructor
-- probe: row values
SELECT ROW(1, 'a', NULL), (1, 2) = (1, 2), (1, NULL) IS NULL, ROW(NULL, NULL) IS NULL

-- @ record-as-text
-- probe: a whole-row reference cast to text
SELECT c::text FROM {schema}.customers c ORDER BY c.id

-- @ cast-syntax
-- probe: the three cast syntaxes
SELECT CAST('12' AS integer), int4 '12', '12'::integer, integer '12' + 1, text 'a'

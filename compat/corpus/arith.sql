-- Typed-value probes: arithmetic and aggregate result types (int2/int4/int8/numeric/float mixes),
-- integer division, modulo, powers, rounding, overflow (22003) and division by zero (22012).

-- @ int4-plus
-- probe: int4 + int4 is int4
SELECT 1 + 2

-- @ int2-plus
-- probe: int2 + int2 stays int2
SELECT 1::int2 + 1::int2

-- @ int2-int4
-- probe: int2 + int4 is int4
SELECT 1::int2 + 1

-- @ int4-int8
-- probe: int4 + int8 is int8
SELECT 1 + 1::int8

-- @ int-numeric
-- probe: int4 + numeric literal is numeric
SELECT 1 + 1.5

-- @ int-float8
-- probe: int4 + float8 is float8
SELECT 1 + 1.5::float8

-- @ float4-float4
-- probe: float4 + float4 stays float4
SELECT 1.5::float4 + 1.25::float4

-- @ float4-float8
-- probe: float4 + float8 is float8
SELECT 1.5::float4 + 1.25::float8

-- @ numeric-float8
-- probe: numeric + float8 is float8
SELECT 1.5 + 1.25::float8

-- @ int8-numeric
-- probe: int8 * numeric is numeric
SELECT 10::int8 * 1.5

-- @ int2-float4
-- probe: int2 * float4: PostgreSQL resolves it to float8 * float8
SELECT 3::int2 * 0.1::float4

-- @ int-div-pos
-- probe: integer division truncates: 3
SELECT 7 / 2

-- @ int-div-neg
-- probe: integer division truncates toward zero: -3
SELECT -7 / 2

-- @ int-div-neg-divisor
-- probe: integer division by a negative: -3
SELECT 7 / -2

-- @ int8-div
-- probe: int8 division
SELECT 7::int8 / 2::int8

-- @ int2-div
-- probe: int2 division stays int2
SELECT 7::int2 / 2::int2

-- @ numeric-div
-- probe: numeric division: 3.5000000000000000 (scale rules)
SELECT 7.0 / 2

-- @ numeric-div-third
-- probe: numeric division scale: 0.33333333333333333333
SELECT 1.0 / 3

-- @ numeric-div-int
-- probe: numeric / int
SELECT 10::numeric / 4

-- @ numeric-div-big-scale
-- probe: numeric division keeps the larger display scale
SELECT 1.000000000000000000001 / 7

-- @ float-div
-- probe: float8 division: 3.5
SELECT 7::float8 / 2

-- @ float-div-third
-- probe: float8 text of 1/3
SELECT 1::float8 / 3

-- @ float4-div-third
-- probe: float4 / int4: PostgreSQL resolves it to float8
SELECT 1::float4 / 3

-- @ int-mod
-- probe: modulo
SELECT 7 % 3

-- @ int-mod-neg
-- probe: modulo takes the sign of the dividend: -1
SELECT -7 % 3

-- @ int-mod-neg-divisor
-- probe: modulo by a negative: 1
SELECT 7 % -3

-- @ numeric-mod
-- probe: numeric modulo: 1.5
SELECT 7.5 % 2

-- @ mod-func
-- probe: mod() result types
SELECT mod(-7, 3), mod(7::int8, 4::int8), mod(7.5, 2)

-- @ div-func
-- probe: div() returns numeric
SELECT div(7, 2), div(-7.5, 2)

-- @ power-op-int
-- probe: ^ on integers is float8: 1024
SELECT 2 ^ 10

-- @ power-op-numeric
-- probe: ^ on numeric is numeric
SELECT 2.0 ^ 10

-- @ power-op-fraction
-- probe: ^ with a numeric exponent
SELECT 2 ^ 0.5

-- @ power-func
-- probe: power() result types
SELECT power(2, 3), power(2.0, 3), power(2::float8, -1)

-- @ sqrt-cbrt
-- probe: sqrt of int is float8, of numeric is numeric
SELECT sqrt(2), sqrt(16.0), cbrt(27)

-- @ abs
-- probe: abs() keeps the argument type
SELECT abs(-5), abs(-5.5), abs(-5::int2), abs(-2.5::float4)

-- @ unary-minus
-- probe: unary minus keeps the type
SELECT -(1::int2), -(1::int8), -(1.5), -(1.5::float4)

-- @ factorial
-- probe: factorial() returns numeric
SELECT factorial(5), factorial(20)

-- @ sign
-- probe: sign() types
SELECT sign(-3), sign(0.0), sign(2::float8)

-- @ gcd-lcm
-- probe: gcd/lcm keep the integer type
SELECT gcd(12, 18), lcm(4, 6), gcd(12::int8, 8::int8)

-- @ round-half
-- probe: numeric round rounds half away from zero
SELECT round(2.5), round(-2.5), round(0.5)

-- @ round-float
-- probe: float8 round rounds half to even
SELECT round(2.5::float8), round(3.5::float8), round(-2.5::float8)

-- @ round-scale
-- probe: round(numeric, scale)
SELECT round(123.456, 2), round(123.456, -1), round(123.456, 0)

-- @ round-int
-- probe: round of an integer goes through numeric/float8
SELECT round(7), round(7::int8)

-- @ trunc
-- probe: trunc()
SELECT trunc(123.456, 1), trunc(-1.9), trunc(1.9::float8)

-- @ ceil-floor
-- probe: ceil/floor result types
SELECT ceil(1.2), floor(-1.2), ceiling(1.2::float8), floor(5)

-- @ bit-ops
-- probe: bitwise operators on int4
SELECT 5 & 3, 5 | 3, 5 # 3, ~5, 1 << 4, 256 >> 2

-- @ bit-ops-int8
-- probe: bitwise operators on int8
SELECT 5::int8 & 3, 1::int8 << 40

-- @ literal-types
-- probe: literal types: int4, numeric, numeric, numeric, int8, numeric
SELECT 1 AS i, 1.0 AS n, 1e3 AS e, 1.5e-3 AS small, 2147483648 AS big, 9223372036854775808 AS huge

-- @ literal-int8
-- probe: literals past int4 are int8
SELECT 3000000000, -2147483648

-- @ numeric-exact-sum
-- probe: numeric is exact: 0.3
SELECT 0.1 + 0.2

-- @ float-inexact-sum
-- probe: float8 sum printed with shortest round-trip digits
SELECT 0.1::float8 + 0.2::float8

-- @ float-compare
-- probe: float vs numeric equality
SELECT 0.1::float8 + 0.2::float8 = 0.3::float8, 0.1 + 0.2 = 0.3

-- @ numeric-mul-scale
-- probe: numeric multiplication scale is the sum of scales
SELECT 1.10 * 2.200, 1.5 * 2

-- @ numeric-add-scale
-- probe: numeric addition scale is the larger scale
SELECT 1.10 + 2.2, 1.000 - 1

-- @ overflow-int4-add
-- probe: int4 overflow: 22003
SELECT 2147483647 + 1

-- @ overflow-int4-mul
-- probe: int4 multiplication overflow: 22003
SELECT 2147483647 * 2

-- @ overflow-int2
-- probe: int2 overflow: 22003
SELECT 32767::int2 + 1::int2

-- @ overflow-int8
-- probe: int8 overflow: 22003
SELECT 9223372036854775807 + 1

-- @ overflow-int8-mul
-- probe: int8 multiplication overflow: 22003
SELECT 9223372036854775807 * 2

-- @ overflow-cast-int2
-- probe: cast out of int2 range: 22003
SELECT 40000::int2

-- @ overflow-cast-int4
-- probe: text to int4 out of range: 22003
SELECT '3000000000'::int4

-- @ overflow-negate-min
-- probe: negating the int4 minimum: 22003
SELECT (-2147483648)::int4 * -1

-- @ overflow-abs-min
-- probe: abs of the int8 minimum: 22003
SELECT abs((-9223372036854775808)::int8)

-- @ overflow-numeric-typmod
-- probe: numeric field overflow for the typmod: 22003
SELECT 12345.678::numeric(5,2)

-- @ overflow-float8
-- probe: float8 overflow: 22003
SELECT 1e308::float8 * 10

-- @ overflow-float4
-- probe: float4 out of range: 22003
SELECT 1e39::float4

-- @ overflow-sum-int8
-- probe: sum(int8) is numeric: no overflow
SELECT sum(x) FROM (VALUES (9223372036854775807::int8), (1::int8)) v(x)

-- @ overflow-int4-column
-- probe: int4 column arithmetic overflow: 22003
SELECT customer_id * 2147483647 FROM {schema}.orders ORDER BY id

-- @ div-zero-int
-- probe: integer division by zero: 22012
SELECT 1 / 0

-- @ div-zero-numeric
-- probe: numeric division by zero: 22012
SELECT 1.0 / 0

-- @ div-zero-float
-- probe: float8 division by zero: 22012
SELECT 1.0::float8 / 0

-- @ div-zero-mod
-- probe: modulo by zero: 22012
SELECT 5 % 0

-- @ div-zero-column
-- probe: division by zero on a column: 22012
SELECT id / (quantity - quantity) FROM {schema}.orders

-- @ sum-int2
-- probe: sum(int2) is int8
SELECT sum(quantity) FROM {schema}.orders

-- @ sum-int4
-- probe: sum(int4) is int8
SELECT sum(customer_id) FROM {schema}.orders

-- @ sum-int8
-- probe: sum(int8) is numeric
SELECT sum(id) FROM {schema}.orders

-- @ sum-numeric
-- probe: sum(numeric(12,2)) is numeric without typmod
SELECT sum(amount) FROM {schema}.orders

-- @ sum-float4
-- probe: sum(float4) is float4
SELECT sum(discount) FROM {schema}.orders

-- @ sum-float8
-- probe: sum(float8) is float8
SELECT sum(weight) FROM {schema}.orders

-- @ avg-int2
-- probe: avg(int2) is numeric
SELECT avg(quantity) FROM {schema}.orders

-- @ avg-int4
-- probe: avg(int4) is numeric: 2.1666666666666667
SELECT avg(customer_id) FROM {schema}.orders

-- @ avg-int8
-- probe: avg(int8) is numeric: 3.5000000000000000
SELECT avg(id) FROM {schema}.orders

-- @ avg-numeric
-- probe: avg(numeric) scale
SELECT avg(amount) FROM {schema}.orders

-- @ avg-float4
-- probe: avg(float4) is float8
SELECT avg(discount) FROM {schema}.orders

-- @ avg-float8
-- probe: avg(float8) is float8
SELECT avg(weight) FROM {schema}.orders

-- @ count-star
-- probe: count(*) is int8
SELECT count(*) FROM {schema}.orders

-- @ count-column
-- probe: count(column) skips NULLs
SELECT count(note), count(discount), count(DISTINCT customer_id) FROM {schema}.orders

-- @ min-max-types
-- probe: min/max keep the column types (typmods dropped)
SELECT min(quantity), max(amount), min(discount), max(weight), min(ordered_at), max(shipped_at), min(note) FROM {schema}.orders

-- @ stddev-variance
-- probe: statistical aggregates: numeric for integers and numeric, float8 for floats
SELECT stddev(quantity), variance(quantity), stddev_pop(weight), var_samp(amount) FROM {schema}.orders

-- @ bool-aggregates
-- probe: bool_and/bool_or/every skip NULLs
SELECT bool_and(active), bool_or(active), every(active) FROM {schema}.customers

-- @ aggregate-empty
-- probe: aggregates over no rows: NULLs and 0
SELECT sum(quantity), avg(amount), count(*), max(note) FROM {schema}.orders WHERE false

-- @ sum-generate-series
-- probe: aggregates over generate_series(int4)
SELECT sum(x), avg(x), count(x) FROM generate_series(1, 100) x

-- @ column-int-div
-- probe: integer division of int8, int4, int2 columns
SELECT id, id / 2, customer_id / 2, quantity / 2 FROM {schema}.orders ORDER BY id

-- @ column-mixed
-- probe: numeric*int2, numeric/int2, float4*int2 (float8), float8/int
SELECT id, amount * quantity, amount / quantity, discount * quantity, weight / 2 FROM {schema}.orders ORDER BY id

-- @ column-numeric-round
-- probe: rounding numeric(12,2) columns; numeric to int rounds half away from zero
SELECT id, round(amount, 1), round(amount), trunc(amount), amount::int FROM {schema}.orders ORDER BY id

-- @ float-to-int
-- probe: float8 to int rounds half to even; numeric rounds half away
SELECT 2.5::float8::int, 3.5::float8::int, (-2.5)::float8::int4, 2.5::int

-- @ numeric-to-float
-- probe: numeric to float conversion text
SELECT 0.1::numeric::float8, 1.23456789012345678::float8, 1.23456789012345678::float4

-- @ greatest-least-types
-- probe: greatest/least resolve to a common type
SELECT greatest(1, 2.5), least(1::int2, 2::int8), greatest(1.5::float4, 2)

-- @ width-bucket
-- probe: width_bucket()
SELECT width_bucket(5.35, 0.024, 10.06, 5), width_bucket(amount, 0, 1000, 4) FROM {schema}.orders ORDER BY id

-- @ random-shape shape
-- probe: random() is float8 (value not compared)
SELECT random() < 1.0 AS ok, random()

-- @ pi-exp-ln
-- probe: math functions types and text
SELECT pi(), exp(1), ln(10), log(100), log(2, 8), log10(1000)

-- @ trig
-- probe: trigonometric functions are float8
SELECT sin(0), cos(0), atan2(1, 1), degrees(pi()), radians(180)

-- @ numeric-special
-- probe: numeric NaN and Infinity arithmetic
SELECT 'NaN'::numeric + 1, 'Infinity'::numeric - 1, 'NaN'::numeric = 'NaN'::numeric

-- @ float-special-arith
-- probe: float Infinity/NaN arithmetic
SELECT 'Infinity'::float8 + 1, 'Infinity'::float8 - 'Infinity'::float8, 'NaN'::float8 > 1

-- @ int-to-text-concat
-- probe: number || text goes through the text output
SELECT 1 || '', 1.50 || 'x', 2.5::float8 || ''

-- @ sum-over-window-type
-- probe: sum(int2) as a window aggregate is int8
SELECT id, sum(quantity) OVER (ORDER BY id) FROM {schema}.orders ORDER BY id

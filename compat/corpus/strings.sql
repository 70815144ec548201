-- Typed-value probes: string functions and operators, pattern matching, formatting, on literals
-- and on the fixture's text and varchar columns.

-- @ length-family
-- probe: character vs byte lengths of UTF-8 text
SELECT length('héllo'), char_length('héllo'), octet_length('héllo'), bit_length('abc')

-- @ case
-- probe: upper/lower/initcap
SELECT upper('straße'), lower('ÄBC'), initcap('hello wORLD-foo bar')

-- @ substring
-- probe: substring/substr edge positions
SELECT substring('PostgreSQL' FROM 5 FOR 3), substring('PostgreSQL' FROM 5), substr('PostgreSQL', 0, 3), substring('PostgreSQL', -2, 5)

-- @ substring-regex
-- probe: substring with a POSIX regex
SELECT substring('order-1234-x' FROM '[0-9]+'), substring('abc' FROM 'z')

-- @ position
-- probe: position/strpos
SELECT position('SQL' IN 'PostgreSQL'), strpos('PostgreSQL', 'gre'), position('x' IN 'abc')

-- @ replace-translate
-- probe: replace/translate/overlay
SELECT replace('a-b-c', '-', '+'), translate('12345', '143', 'ax'), overlay('Txxxxas' PLACING 'hom' FROM 2 FOR 4)

-- @ trim
-- probe: trim variants
SELECT trim('  a b  '), ltrim('xxaxx', 'x'), rtrim('xxaxx', 'x'), btrim('  a  '), trim(BOTH '-' FROM '--a--'), trim(LEADING FROM '  a')

-- @ pad
-- probe: lpad/rpad (truncate when longer)
SELECT lpad('7', 3, '0'), rpad('ab', 5, '*'), lpad('abcdef', 3), rpad('', 2)

-- @ repeat-reverse
-- probe: repeat/reverse
SELECT repeat('ab', 3), reverse('abc'), repeat('x', 0)

-- @ left-right
-- probe: left/right with negative counts
SELECT left('abcdef', 2), right('abcdef', 2), left('abc', -1), right('abc', -1)

-- @ split-part
-- probe: split_part with negative index (PostgreSQL 14+)
SELECT split_part('a,b,c', ',', 2), split_part('a,b,c', ',', 5), split_part('a,b,c', ',', -1)

-- @ concat-ops
-- probe: || and concat/concat_ws
SELECT 'a' || 'b' || 1, concat('a', 1, NULL, 2.5, true), concat_ws('-', 'a', NULL, 'b')

-- @ format
-- probe: format() with %s %I %L and positions
SELECT format('%s, %s!', 'Hello', 'World'), format('%I.%I', 'in.c-compat', 'orders'), format('%L', E'O\'Reilly'), format('%L', NULL), format('%5s|%-5s|', 'a', 'b'), format('%2$s %1$s', 'a', 'b')

-- @ quote-functions
-- probe: quote_ident/quote_literal/quote_nullable
SELECT quote_ident('in.c-compat'), quote_ident('orders'), quote_ident('Order'), quote_literal('it''s'), quote_nullable(NULL), quote_literal(42)

-- @ md5-hash
-- probe: md5 text, sha256 bytea
SELECT md5('abc'), md5(''), sha256('abc'::bytea)

-- @ ascii-chr
-- probe: ascii/chr with non-ASCII
SELECT ascii('A'), chr(65), chr(269), ascii('č')

-- @ regexp-replace
-- probe: regexp_replace, flags and back-references
SELECT regexp_replace('a1b22c333', '[0-9]+', '#'), regexp_replace('a1b22c333', '[0-9]+', '#', 'g'), regexp_replace('Hello', '(l+)', '[\1]')

-- @ regexp-match
-- probe: regexp_match returns text[]
SELECT regexp_match('key=val', '(\w+)=(\w+)'), regexp_matches('a1b2', '[0-9]', 'g') ORDER BY 1

-- @ regexp-split
-- probe: regexp_split_to_array/table
SELECT regexp_split_to_array('a, b,c', ',\s*'), x FROM regexp_split_to_table('one two', ' ') WITH ORDINALITY AS t(x, n) ORDER BY n

-- @ regex-operators
-- probe: POSIX regex operators
SELECT 'abc' ~ 'b', 'abc' ~* 'B', 'abc' !~ 'z', 'abc' !~* 'A'

-- @ like
-- probe: LIKE/ILIKE with escapes
SELECT 'abc' LIKE 'a%', 'abc' LIKE '_b_', 'ABC' ILIKE 'a%', 'a%c' LIKE 'a\%c', 'a_c' LIKE 'a#_c' ESCAPE '#', 'abc' NOT LIKE '%z%'

-- @ similar-to
-- probe: SIMILAR TO
SELECT 'abc' SIMILAR TO '(a|x)%', 'abc' SIMILAR TO 'b%'

-- @ starts-with
-- probe: starts_with and ^@
SELECT starts_with('alphabet', 'alph'), 'alphabet' ^@ 'alp'

-- @ to-char-number
-- probe: to_char of numbers
SELECT to_char(1234.5, '9,999.99'), to_char(-0.5, 'FM990.00'), to_char(42, '000'), to_char(1234567.891, 'FM9G999G999D00')

-- @ to-number
-- probe: to_number
SELECT to_number('1,234.50', '9G999D99'), to_number('-12', '999')

-- @ escape-strings
-- probe: E-strings, standard_conforming_strings backslash, dollar quoting
SELECT E'a\nb', E'tab\there', 'a\b', $$dollar 'quoted'$$, $tag$x$tag$

-- @ unicode-escape
-- probe: U& Unicode escapes
SELECT U&'\0041\00e9', U&'d!0061t!+000061' UESCAPE '!'

-- @ collate-c-order
-- probe: ORDER BY with COLLATE "C"
SELECT name FROM {schema}.customers ORDER BY lower(name) COLLATE "C" DESC

-- @ text-compare
-- probe: text comparison (C.UTF-8 on the capture server)
SELECT 'a' < 'b', 'B' < 'a', 'abc' = 'abc ', 'a'::text < 'a '::text

-- @ string-agg
-- probe: string_agg with ORDER BY and DISTINCT
SELECT string_agg(name, ', ' ORDER BY name), string_agg(DISTINCT country, '/' ORDER BY country) FROM {schema}.customers

-- @ column-functions
-- probe: string functions on varchar/text columns with NULLs
SELECT id, upper(name), length(name), left(email, 3), split_part(email, '@', 2), coalesce(email, '-'), name || ' <' || email || '>' FROM {schema}.customers ORDER BY id

-- @ column-like
-- probe: LIKE/ILIKE filters on columns
SELECT id, name FROM {schema}.customers WHERE email LIKE '%.example' AND name ILIKE '%a%' ORDER BY id

-- @ column-regex-filter
-- probe: regex filter on a column
SELECT id, note FROM {schema}.orders WHERE note ~ '^[a-r]' ORDER BY id

-- @ char-column-pad
-- probe: char(2) column semantics
SELECT id, country, length(country), country = 'US', country || '|' FROM {schema}.customers ORDER BY id

-- @ encode-escape
-- probe: encoding conversions and to_hex
SELECT encode(convert_to('ž', 'UTF8'), 'hex'), convert_from('\xc5be'::bytea, 'UTF8'), to_hex(255), to_hex(-1::int8)

-- @ string-to-number-casts
-- probe: text to number casts
SELECT '007'::int, '1e3'::numeric, ' 12.5 '::numeric, 'Infinity'::float8::text

-- @ gen-random-uuid-shape shape
-- probe: random values: compared by shape
SELECT gen_random_uuid(), md5(random()::text)

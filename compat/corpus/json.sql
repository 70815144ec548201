-- Typed-value probes: json and jsonb values, operators and functions, on literals and on the
-- text column events.payload cast to json/jsonb.

-- @ json-literal
-- probe: json keeps the input text as is
SELECT '{"b": 1, "a": [1, 2.50, null]}'::json

-- @ jsonb-literal
-- probe: jsonb normalises: key order, duplicates, spacing
SELECT '{"b": 1,   "a": [1, 2.50, null], "b": 2}'::jsonb

-- @ jsonb-scalars
-- probe: jsonb scalars keep numeric text
SELECT '1e2'::jsonb, '"x"'::jsonb, 'true'::jsonb, 'null'::jsonb, '[]'::jsonb, '1.50'::jsonb

-- @ json-arrow
-- probe: -> returns json/jsonb
SELECT '{"a": {"b": [10, 20]}}'::json -> 'a', '{"a": {"b": [10, 20]}}'::jsonb -> 'a' -> 'b' -> 1

-- @ json-arrow-text
-- probe: ->> returns text (JSON null is SQL NULL)
SELECT '{"a": "x", "n": 1.5, "z": null}'::jsonb ->> 'a', '{"a": "x", "n": 1.5}'::jsonb ->> 'n', '{"z": null}'::jsonb ->> 'z', '[1, 2]'::json ->> 0

-- @ json-path-ops
-- probe: #> and #>>
SELECT '{"a": {"b": [10, 20]}}'::jsonb #> '{a,b}', '{"a": {"b": [10, 20]}}'::jsonb #>> '{a,b,1}', '{"a": 1}'::json #>> '{a}'

-- @ json-missing-key
-- probe: missing keys and indexes give NULL
SELECT '{"a": 1}'::jsonb -> 'zz', '[1]'::jsonb -> 5, '{"a": 1}'::jsonb ->> 'zz'

-- @ jsonb-containment
-- probe: jsonb containment and key-exists operators
SELECT '{"a": 1, "b": 2}'::jsonb @> '{"a": 1}', '{"a": 1}'::jsonb <@ '{"a": 1, "b": 2}', '{"a": 1}'::jsonb ? 'a', '{"a": 1}'::jsonb ?| ARRAY['x', 'a'], '{"a": 1}'::jsonb ?& ARRAY['a', 'b']

-- @ jsonb-modify
-- probe: jsonb ||, -, jsonb_set, #-
SELECT '{"a": 1}'::jsonb || '{"b": 2}', '{"a": 1, "b": 2}'::jsonb - 'a', '[1, 2, 3]'::jsonb - 1, jsonb_set('{"a": {"b": 1}}', '{a,b}', '5'), '{"a": {"b": 1}}'::jsonb #- '{a,b}'

-- @ json-build-object
-- probe: json_build_object/jsonb_build_object
SELECT json_build_object('a', 1, 'b', 'x', 'c', NULL, 'd', 1.50, 'e', true), jsonb_build_object('a', 1, 'b', ARRAY[1, 2])

-- @ json-build-array
-- probe: json_build_array, dates become strings
SELECT json_build_array(1, 'a', NULL, 2.5), jsonb_build_array(DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05')

-- @ to-json-values
-- probe: to_json of scalars, timestamps and arrays
SELECT to_json('a"b'::text), to_jsonb(1.50::numeric), to_json(TIMESTAMPTZ '2024-01-02 03:04:05+00'), to_json(ARRAY[1, 2]), to_jsonb(NULL::int), to_json('NaN'::float8)

-- @ row-to-json
-- probe: row_to_json of a table row (column names, date and boolean encoding)
SELECT row_to_json(c) FROM {schema}.customers c ORDER BY id

-- @ to-json-row-orders
-- probe: to_jsonb of an orders row: numeric, float4, float8, timestamp, timestamptz
SELECT to_jsonb(o) FROM {schema}.orders o ORDER BY id

-- @ json-agg
-- probe: json_agg/jsonb_agg
SELECT json_agg(name ORDER BY id), jsonb_agg(country ORDER BY id) FROM {schema}.customers

-- @ json-agg-rows
-- probe: json_agg of rows of the view
SELECT json_agg(t ORDER BY t.id) FROM (SELECT id, amount FROM {schema}.big_orders) t

-- @ json-object-agg
-- probe: json_object_agg
SELECT json_object_agg(country, n ORDER BY country) FROM (SELECT country, count(*) AS n FROM {schema}.customers GROUP BY country) s

-- @ json-object
-- probe: json_object/jsonb_object from text arrays
SELECT json_object('{a, 1, b, 2}'), jsonb_object(ARRAY['k1', 'k2'], ARRAY['v1', NULL])

-- @ jsonb-array-elements
-- probe: jsonb_array_elements and jsonb_typeof
SELECT value, jsonb_typeof(value) FROM jsonb_array_elements('[1, "a", null, {"x": 2}, [3], true]') WITH ORDINALITY AS t(value, n) ORDER BY n

-- @ json-array-elements-text
-- probe: json_array_elements_text
SELECT x FROM json_array_elements_text('["a", "b", null]') WITH ORDINALITY AS t(x, n) ORDER BY n

-- @ jsonb-each
-- probe: jsonb_each
SELECT key, value FROM jsonb_each('{"b": 2, "a": [1], "c": null}') ORDER BY key

-- @ jsonb-each-text
-- probe: jsonb_each_text
SELECT key, value FROM jsonb_each_text('{"b": 2, "a": "x"}') ORDER BY key

-- @ jsonb-object-keys
-- probe: jsonb_object_keys
SELECT k FROM jsonb_object_keys('{"b": 1, "a": 2}') AS k ORDER BY k

-- @ json-lengths
-- probe: lengths and typeof
SELECT json_array_length('[1, 2, 3]'), jsonb_array_length('[]'), json_typeof('{"a": 1}'), jsonb_typeof('1.5')

-- @ jsonb-strip-nulls
-- probe: jsonb_strip_nulls
SELECT jsonb_strip_nulls('{"a": 1, "b": null, "c": {"d": null}}'), json_strip_nulls('[1, null]')

-- @ jsonb-pretty
-- probe: jsonb_pretty layout
SELECT jsonb_pretty('{"a": [1, {"b": 2}]}')

-- @ jsonb-path
-- probe: SQL/JSON path functions
SELECT jsonb_path_query_array('{"a": [1, 2, 3, 4]}', '$.a[*] ? (@ > 2)'), jsonb_path_exists('{"a": 1}', '$.a'), '{"a": [1, 2]}'::jsonb @? '$.a[*] ? (@ == 2)'

-- @ jsonb-to-record
-- probe: jsonb_to_record with a column definition list
SELECT * FROM jsonb_to_record('{"a": 1, "b": "x", "c": 2.5}') AS r(a int, b text, c numeric)

-- @ jsonb-populate-recordset
-- probe: jsonb_to_recordset
SELECT * FROM jsonb_to_recordset('[{"id": 1, "n": "a"}, {"id": 2}]') AS r(id int, n text) ORDER BY id

-- @ payload-arrow
-- probe: the events.payload text column cast to json and jsonb
SELECT kind, payload::json -> 'x' AS x, payload::jsonb -> 'y' AS y, payload::jsonb ->> 'x' AS xt FROM {schema}.events ORDER BY happened NULLS LAST

-- @ payload-path
-- probe: paths and a cast of a ->> result
SELECT kind, payload::jsonb #>> '{y,1}' AS y1, (payload::jsonb ->> 'x')::int + 1 AS x1 FROM {schema}.events ORDER BY happened NULLS LAST

-- @ payload-filter
-- probe: filter on jsonb containment
SELECT kind FROM {schema}.events WHERE payload::jsonb @> '{"x": 2}'

-- @ payload-group
-- probe: group by a jsonb key test
SELECT payload::jsonb ? 'y' AS has_y, count(*) FROM {schema}.events WHERE payload IS NOT NULL GROUP BY 1 ORDER BY 1

-- @ jsonb-compare
-- probe: jsonb equality
SELECT '{"a": 1, "b": 2}'::jsonb = '{"b": 2, "a": 1}'::jsonb, '[1, 2]'::jsonb = '[2, 1]'::jsonb, '1.0'::jsonb = '1'::jsonb

-- @ jsonb-order
-- probe: jsonb sort order across types
SELECT j FROM (VALUES ('1'::jsonb), ('"a"'), ('null'), ('[1]'), ('{"a": 1}'), ('true')) v(j) ORDER BY j

-- @ json-invalid
-- probe: invalid json: 22P02
SELECT '{"a": 1'::jsonb

-- @ json-invalid-arrow
-- probe: invalid json text: 22P02
SELECT '{"a": 1}'::json -> 'a' -> 'b' IS NULL, 'not json'::json

-- @ json-text-casts
-- probe: json/jsonb to text and number casts
SELECT '{"a": 1}'::json::text, '{"a":1}'::jsonb::text, '{"a": 1}'::jsonb::json, '5'::jsonb::int, '"x"'::jsonb::text

-- @ json-escape
-- probe: escapes in json strings
SELECT to_json(E'line1\nline2\t"q"'::text), '"\u00e9"'::jsonb, '"\u00e9"'::json

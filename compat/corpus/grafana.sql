-- What Grafana's PostgreSQL data source sends: the query editor's table and column pickers and version
-- probes (postgresMetaQuery.ts), the backend schema handlers (schema.go, pgx: $n values substituted as
-- literals), dashboard queries with the $__ macros expanded as macros.go expands them (time range
-- 2024-01-01T00:00:00Z to 2024-07-01T00:00:00Z), and queries the visual query builder writes (sqlUtil.ts).
-- Taken from github:grafana/grafana.

-- @ version shape
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: getVersion() (configuration page, auto-detect features)
SELECT current_setting('server_version_num')::int/100 as version

-- @ timescaledb-version
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: getTimescaleDBVersion()
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'

-- @ show-schemas columns
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: showSchemas() (schema picker)
-- every schema of the database: compared by columns only
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name

-- @ show-tables-schema
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: showTables(schema) for the schema "in.c-compat" (quote_ident quotes it)
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = '"{schema_name}"'
      ORDER BY 1

-- @ show-tables-search-path columns
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: showTables() without a schema (table picker, completion)
-- every table of the database: compared by columns only
SELECT
    CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1

-- @ get-schema-qualified unordered
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: getSchema('"in.c-compat".orders') (column picker for a schema-qualified table)
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('"{schema_name}".orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('"{schema_name}".orders'))[1]
          AND quote_ident(table_name) = (parse_ident('"{schema_name}".orders'))[2]
        ELSE quote_ident(table_name) = '"{schema_name}".orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END

-- @ get-schema-qualified-view unordered
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: getSchema('"in.c-compat".big_orders')
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('"{schema_name}".big_orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('"{schema_name}".big_orders'))[1]
          AND quote_ident(table_name) = (parse_ident('"{schema_name}".big_orders'))[2]
        ELSE quote_ident(table_name) = '"{schema_name}".big_orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END

-- @ get-schema-unqualified
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: getSchema('orders') (a table on the search path: none here)
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('orders'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('orders'))[1]
          AND quote_ident(table_name) = (parse_ident('orders'))[2]
        ELSE quote_ident(table_name) = 'orders'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END

-- @ get-schema-quoted-table unordered
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts: getSchema('"in.c-compat"."customers"')
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('"{schema_name}"."customers"'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('"{schema_name}"."customers"'))[1]
          AND quote_ident(table_name) = (parse_ident('"{schema_name}"."customers"'))[2]
        ELSE quote_ident(table_name) = '"{schema_name}"."customers"'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END

-- @ schema-handler-schemas columns
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go: querySchemas()
-- every schema of the database: compared by columns only
SELECT schema_name FROM information_schema.schemata
		 WHERE schema_name NOT LIKE 'pg_%' AND schema_name != 'information_schema'
		 ORDER BY schema_name

-- @ schema-handler-tables
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go: queryTables(schema); $1 = 'in.c-compat' substituted
SELECT table_name FROM information_schema.tables
		 WHERE table_schema = '{schema_name}' AND table_type IN ('BASE TABLE', 'VIEW')
		 ORDER BY table_name

-- @ schema-handler-columns-orders
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go: queryColumns(schema, table); $1 = 'in.c-compat', $2 = 'orders' substituted
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = '{schema_name}' AND table_name = 'orders'
		 ORDER BY ordinal_position

-- @ schema-handler-columns-customers
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go: queryColumns(schema, table); $1 = 'in.c-compat', $2 = 'customers' substituted
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = '{schema_name}' AND table_name = 'customers'
		 ORDER BY ordinal_position

-- @ schema-handler-columns-events
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go: queryColumns(schema, table); $1 = 'in.c-compat', $2 = 'events' substituted
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = '{schema_name}' AND table_name = 'events'
		 ORDER BY ordinal_position

-- @ schema-handler-columns-big-orders
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go: queryColumns(schema, table); $1 = 'in.c-compat', $2 = 'big_orders' substituted
SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale
		 FROM information_schema.columns
		 WHERE table_schema = '{schema_name}' AND table_name = 'big_orders'
		 ORDER BY ordinal_position

-- @ schema-handler-column-values unordered
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/schema.go: ColumnValues() for the columns country and active of customers
SELECT 'country' AS col_name, "country"::text AS val FROM (SELECT DISTINCT "country" FROM "{schema_name}"."customers" WHERE "country" IS NOT NULL ORDER BY "country" LIMIT 100) sub_0 UNION ALL SELECT 'active' AS col_name, "active"::text AS val FROM (SELECT DISTINCT "active" FROM "{schema_name}"."customers" WHERE "active" IS NOT NULL ORDER BY "active" LIMIT 100) sub_1

-- @ health-check
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/sqleng/handler_checkhealth.go: CheckHealth pings (pgx Ping sends an empty-ish probe; Grafana's "Test" runs this query)
SELECT 1

-- @ macro-time-series
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go: a time series panel, $__time(ordered_at) and $__timeFilter(ordered_at) expanded
SELECT
  ordered_at AS "time",
  amount
FROM {schema}.orders
WHERE
  ordered_at BETWEEN '2024-01-01T00:00:00Z' AND '2024-07-01T00:00:00Z'
ORDER BY 1

-- @ macro-time-group
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go: $__timeGroupAlias(ordered_at, '30d') and $__timeFilter(ordered_at) expanded (Go formats 2.592e+06 seconds as %v does)
SELECT
  floor(extract(epoch from ordered_at)/2.592e+06)*2.592e+06 AS "time",
  sum(amount) AS "total"
FROM {schema}.orders
WHERE
  ordered_at BETWEEN '2024-01-01T00:00:00Z' AND '2024-07-01T00:00:00Z'
GROUP BY 1
ORDER BY 1

-- @ macro-time-group-tz
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go: $__timeGroupAlias(shipped_at, '1d') on a timestamptz column
SELECT
  floor(extract(epoch from shipped_at)/86400)*86400 AS "time",
  count(*) AS "orders"
FROM {schema}.orders
WHERE
  shipped_at BETWEEN '2024-01-01T00:00:00Z' AND '2024-07-01T00:00:00Z'
GROUP BY 1
ORDER BY 1

-- @ macro-time-epoch
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go: $__timeEpoch(ordered_at), $__timeFrom() and $__timeTo() expanded
SELECT
  extract(epoch from ordered_at) as "time",
  quantity AS value,
  note AS metric
FROM {schema}.orders
WHERE ordered_at >= '2024-01-01T00:00:00Z' AND ordered_at < '2024-07-01T00:00:00Z'
ORDER BY 1,2

-- @ macro-unix-epoch-filter
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go: $__unixEpochFilter(extract(epoch from happened)::bigint) expanded
SELECT
  extract(epoch from happened)::bigint AS "time",
  kind
FROM {schema}.events
WHERE extract(epoch from happened)::bigint >= 1704067200 AND extract(epoch from happened)::bigint <= 1719792000
ORDER BY 1

-- @ macro-unix-epoch-group
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go: $__unixEpochGroupAlias(extract(epoch from ordered_at), '1h') expanded
SELECT
  floor((extract(epoch from ordered_at))/3600)*3600 AS "time",
  avg(weight) AS "weight"
FROM {schema}.orders
GROUP BY 1
ORDER BY 1

-- @ macro-time-filter-tz
-- grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go: $__timeFilter on a timestamptz column
SELECT id, shipped_at FROM {schema}.orders WHERE shipped_at BETWEEN '2024-01-01T00:00:00Z' AND '2024-07-01T00:00:00Z' ORDER BY id

-- @ variable-query
-- a dashboard variable query (VariableQueryEditor), __text column from the first column
SELECT DISTINCT country FROM {schema}.customers ORDER BY country

-- @ variable-query-text-value
-- a dashboard variable query with __text/__value columns
SELECT name AS __text, id AS __value FROM {schema}.customers ORDER BY name

-- @ macro-multi-value
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/datasource.ts: interpolateVariable quotes each value of a multi-value variable ($country = US, GB)
SELECT id, name FROM {schema}.customers WHERE country IN ('US','GB') ORDER BY id

-- @ builder-select-limit unordered
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts: toRawSql() of the visual query builder (two columns, default limit 50)
SELECT id, amount FROM "{schema_name}".orders LIMIT 50

-- @ builder-aggregate
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts: toRawSql() of the visual query builder (SUM aggregation, group by, order by)
SELECT customer_id, SUM(amount) FROM "{schema_name}".orders GROUP BY customer_id ORDER BY customer_id ASC LIMIT 50

-- @ builder-where
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts: toRawSql() of the visual query builder (filters, order direction)
SELECT name, email FROM "{schema_name}".customers WHERE active = true AND country = 'US' ORDER BY name DESC LIMIT 50

-- @ builder-count-distinct
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts: toRawSql() of the visual query builder (COUNT DISTINCT)
SELECT COUNT(DISTINCT customer_id) FROM "{schema_name}".orders LIMIT 50

-- @ builder-avg-min-max
-- grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/sqlUtil.ts: toRawSql() of the visual query builder (AVG, MIN, MAX)
SELECT AVG(quantity), MIN(ordered_at), MAX(weight) FROM "{schema_name}".orders LIMIT 50

-- @ table-panel-jsonb
-- a table panel reading JSON out of a text column (the jsonb operators Grafana's types_jsonb snapshot test uses): grafana/grafana pkg/tsdb/grafana-postgresql-datasource/testdata/table/types_jsonb.sql
SELECT kind, payload::jsonb -> 'x' AS x, payload::jsonb ->> 'y' AS y FROM {schema}.events ORDER BY kind NULLS FIRST

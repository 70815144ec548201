-- What Metabase's PostgreSQL driver sends while syncing a database and running questions, taken from its
-- public sources (github:metabase/metabase, src/metabase/driver/postgres.clj and
-- src/metabase/driver/sql_jdbc/sync/describe_database.clj). The HoneySQL forms are rendered as HoneySQL 2
-- renders them with :dialect :ansi (quoted identifiers); the ? parameters (schema and table names) are
-- substituted as literals. Metabase talks through pgjdbc, so everything goes with the extended protocol.

-- @ db-default-timezone extended
-- metabase/metabase src/metabase/driver/postgres.clj: driver/db-default-timezone
show timezone;

-- @ set-session-timezone extended
-- metabase/metabase src/metabase/driver/postgres.clj: sql-jdbc.execute/set-timezone-sql with the report timezone UTC
SET SESSION TIMEZONE TO 'UTC';

-- @ enum-types extended
-- metabase/metabase src/metabase/driver/postgres.clj: enum-types (describe-fields-pre-process-xf, dynamic-database-types-lookup)
SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)

-- @ describe-database-tables shape extended
-- metabase/metabase src/metabase/driver/postgres.clj: get-tables-sql (describe-database*) for the synced schema; estimated_row_count is pg_stat_user_tables.n_live_tup
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('{schema_name}')) ORDER BY "type" ASC, "schema" ASC, "name" ASC

-- @ table-privileges columns extended
-- metabase/metabase src/metabase/driver/postgres.clj: sql-jdbc.sync/current-user-table-privileges (have-select-privilege-fn during sync)
-- every user schema of the database: compared by columns only
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t

-- @ select-probe-customers extended
-- metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj: simple-select-probe-query (have-select-privilege? for foreign tables and drivers without table privileges)
SELECT TRUE AS "_" FROM {schema}."customers" WHERE 1 <> 1 LIMIT 0

-- @ select-probe-orders extended
-- metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj: simple-select-probe-query (have-select-privilege? for foreign tables and drivers without table privileges)
SELECT TRUE AS "_" FROM {schema}."orders" WHERE 1 <> 1 LIMIT 0

-- @ select-probe-events extended
-- metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj: simple-select-probe-query (have-select-privilege? for foreign tables and drivers without table privileges)
SELECT TRUE AS "_" FROM {schema}."events" WHERE 1 <> 1 LIMIT 0

-- @ select-probe-big-orders extended
-- metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj: simple-select-probe-query (have-select-privilege? for foreign tables and drivers without table privileges)
SELECT TRUE AS "_" FROM {schema}."big_orders" WHERE 1 <> 1 LIMIT 0

-- @ describe-fields extended
-- metabase/metabase src/metabase/driver/postgres.clj: sql-jdbc.sync/describe-fields-sql for the synced schema (describe-fields)
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('{schema_name}')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('{schema_name}')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC

-- @ describe-fields-orders extended
-- metabase/metabase src/metabase/driver/postgres.clj: sql-jdbc.sync/describe-fields-sql for one table (sync of a single table)
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('{schema_name}')) AND ("c"."table_name" IN ('orders')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('{schema_name}')) AND ("pc"."relname" IN ('orders')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC

-- @ describe-fields-two extended
-- metabase/metabase src/metabase/driver/postgres.clj: sql-jdbc.sync/describe-fields-sql for two tables
SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('{schema_name}')) AND ("c"."table_name" IN ('customers', 'big_orders')) UNION ALL SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN ('public', 'pg_catalog') THEN FORMAT('%s', "pt"."typname") ELSE FORMAT('"%s"."%s"', "ptn"."nspname", "pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", "pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS "field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM "pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON "pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON "pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = "pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = "pt"."typnamespace" WHERE ("pc"."relkind" = 'm') AND ("pa"."attnum" >= 1) AND ("pn"."nspname" IN ('{schema_name}')) AND ("pc"."relname" IN ('customers', 'big_orders')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC

-- @ describe-fks extended
-- metabase/metabase src/metabase/driver/postgres.clj: sql-jdbc.sync/describe-fks-sql for the synced schema
SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", "fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", "pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM "pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = "fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = "fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = "fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = "pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = "pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = "pk_column"."attrelid" WHERE fk_ns.nspname !~ '^information_schema|catalog_history|pg_' AND ("c"."contype" = 'f'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND ("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_ns"."nspname" IN ('{schema_name}')) ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC

-- @ describe-indexes unordered extended
-- metabase/metabase src/metabase/driver/postgres.clj: sql-jdbc.sync/describe-indexes-sql for the synced schema
SELECT "tmp"."table-schema", "tmp"."table-name", TRIM(BOTH '"' FROM PG_CATALOG.PG_GET_INDEXDEF("tmp"."ci_oid", "tmp"."pos", FALSE)) AS "field-name" FROM (SELECT "n"."nspname" AS "table-schema", "ct"."relname" AS "table-name", "ci"."oid" AS "ci_oid", (INFORMATION_SCHEMA._PG_EXPANDARRAY("i"."indkey")).n AS "pos" FROM "pg_catalog"."pg_class" AS "ct" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "ct"."relnamespace" = "n"."oid" INNER JOIN "pg_catalog"."pg_index" AS "i" ON "ct"."oid" = "i"."indrelid" INNER JOIN "pg_catalog"."pg_class" AS "ci" ON "ci"."oid" = "i"."indexrelid" WHERE (PG_CATALOG.PG_GET_EXPR("i"."indpred", "i"."indrelid") IS NULL) AND n.nspname !~ '^information_schema|catalog_history|pg_' AND ("n"."nspname" IN ('{schema_name}'))) AS "tmp" WHERE "tmp"."pos" = 1

-- @ jdbc-get-tables extended
-- metabase/metabase src/metabase/driver/sql_jdbc/sync/describe_database.clj: db-tables calls DatabaseMetaData.getTables with types TABLE, PARTITIONED TABLE, VIEW, FOREIGN TABLE, MATERIALIZED VIEW, EXTERNAL TABLE, DYNAMIC_TABLE
-- captured from pgjdbc 42.5.5 making that call
SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'  WHEN true THEN CASE  WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TABLE'   WHEN 'v' THEN 'SYSTEM VIEW'   WHEN 'i' THEN 'SYSTEM INDEX'   ELSE NULL   END  WHEN n.nspname = 'pg_toast' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TOAST TABLE'   WHEN 'i' THEN 'SYSTEM TOAST INDEX'   ELSE NULL   END  ELSE CASE c.relkind   WHEN 'r' THEN 'TEMPORARY TABLE'   WHEN 'p' THEN 'TEMPORARY TABLE'   WHEN 'i' THEN 'TEMPORARY INDEX'   WHEN 'S' THEN 'TEMPORARY SEQUENCE'   WHEN 'v' THEN 'TEMPORARY VIEW'   ELSE NULL   END  END  WHEN false THEN CASE c.relkind  WHEN 'r' THEN 'TABLE'  WHEN 'p' THEN 'PARTITIONED TABLE'  WHEN 'i' THEN 'INDEX'  WHEN 'P' then 'PARTITIONED INDEX'  WHEN 'S' THEN 'SEQUENCE'  WHEN 'v' THEN 'VIEW'  WHEN 'c' THEN 'TYPE'  WHEN 'f' THEN 'FOREIGN TABLE'  WHEN 'm' THEN 'MATERIALIZED VIEW'  ELSE NULL  END  ELSE NULL  END  AS TABLE_TYPE, d.description AS REMARKS,  '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION  FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0  and d.classoid = 'pg_class'::regclass)  WHERE c.relnamespace = n.oid  AND n.nspname LIKE '{schema_name}' AND c.relname LIKE '%' AND (false  OR ( c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' )  OR ( c.relkind = 'p' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' )  OR ( c.relkind = 'v' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' )  OR ( c.relkind = 'f' )  OR ( c.relkind = 'm' ) )  ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME

-- @ table-rows-sample unordered extended
-- metabase/metabase src/metabase/driver/common/table_rows_sample.clj: the sample sync fingerprints (all fields, LIMIT 10000)
SELECT {schema}."orders"."id" AS "id", {schema}."orders"."customer_id" AS "customer_id", {schema}."orders"."amount" AS "amount", {schema}."orders"."quantity" AS "quantity", {schema}."orders"."discount" AS "discount", {schema}."orders"."weight" AS "weight", {schema}."orders"."note" AS "note", {schema}."orders"."ordered_at" AS "ordered_at", {schema}."orders"."shipped_at" AS "shipped_at" FROM {schema}."orders" LIMIT 10000

-- @ field-values extended
-- field values scan of a category field (breakout on the field, LIMIT 1000), as the sql query processor compiles it
SELECT {schema}."customers"."country" AS "country" FROM {schema}."customers" GROUP BY {schema}."customers"."country" ORDER BY {schema}."customers"."country" ASC LIMIT 1000

-- @ question-count-by-month extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (date-trunc :month)
SELECT DATE_TRUNC('month', {schema}."orders"."ordered_at") AS "ordered_at", COUNT(*) AS "count" FROM {schema}."orders" GROUP BY DATE_TRUNC('month', {schema}."orders"."ordered_at") ORDER BY DATE_TRUNC('month', {schema}."orders"."ordered_at") ASC

-- @ question-sum-by-quarter extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (date-trunc :quarter)
SELECT DATE_TRUNC('quarter', {schema}."orders"."ordered_at") AS "ordered_at", SUM({schema}."orders"."amount") AS "sum" FROM {schema}."orders" GROUP BY DATE_TRUNC('quarter', {schema}."orders"."ordered_at") ORDER BY DATE_TRUNC('quarter', {schema}."orders"."ordered_at") ASC

-- @ question-day-of-week extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (:day-of-week with start of week monday)
SELECT ((((CAST(extract(dow from {schema}."orders"."ordered_at") AS integer) + 1) + 5) % 7) + 1) AS "ordered_at", COUNT(*) AS "count" FROM {schema}."orders" GROUP BY ((((CAST(extract(dow from {schema}."orders"."ordered_at") AS integer) + 1) + 5) % 7) + 1) ORDER BY ((((CAST(extract(dow from {schema}."orders"."ordered_at") AS integer) + 1) + 5) % 7) + 1) ASC

-- @ question-created-by-year extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (date column: date_trunc cast back to date)
SELECT CAST(DATE_TRUNC('year', {schema}."customers"."created") AS date) AS "created", COUNT(*) AS "count" FROM {schema}."customers" GROUP BY CAST(DATE_TRUNC('year', {schema}."customers"."created") AS date) ORDER BY CAST(DATE_TRUNC('year', {schema}."customers"."created") AS date) ASC

-- @ question-filter-relative extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (filter with add-interval-honeysql-form and a row limit)
SELECT {schema}."orders"."id" AS "id", {schema}."orders"."amount" AS "amount" FROM {schema}."orders" WHERE ({schema}."orders"."ordered_at" >= CAST((CAST('2024-03-01' AS timestamp) + INTERVAL '-1 month') AS timestamp)) AND ({schema}."orders"."ordered_at" < CAST('2024-07-01' AS timestamp)) ORDER BY {schema}."orders"."id" ASC LIMIT 2000

-- @ question-datetime-diff-day extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (datetime-diff :day)
SELECT {schema}."orders"."id" AS "id", (CAST({schema}."orders"."shipped_at" AS DATE) - CAST({schema}."orders"."ordered_at" AS DATE)) AS "days" FROM {schema}."orders" ORDER BY {schema}."orders"."id" ASC LIMIT 2000

-- @ question-datetime-diff-second extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (datetime-diff :second)
SELECT {schema}."orders"."id" AS "id", CAST(TRUNC(extract(epoch from {schema}."orders"."shipped_at") - extract(epoch from CAST({schema}."orders"."ordered_at" AS timestamp))) AS integer) AS "seconds" FROM {schema}."orders" ORDER BY {schema}."orders"."id" ASC LIMIT 2000

-- @ question-median extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (:median via :percentile)
SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {schema}."orders"."amount") AS "median" FROM {schema}."orders"

-- @ question-regex-split extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (:regex-match-first and :split-part)
SELECT {schema}."customers"."id" AS "id", substring({schema}."customers"."email" FROM '@(.*)$') AS "domain", CASE WHEN 1 < 1 THEN '' ELSE SPLIT_PART({schema}."customers"."email", '@', 1) END AS "user" FROM {schema}."customers" ORDER BY {schema}."customers"."id" ASC LIMIT 2000

-- @ question-convert-timezone extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (:convert-timezone)
SELECT {schema}."orders"."id" AS "id", TIMEZONE('Europe/Prague', {schema}."orders"."shipped_at") AS "shipped_local", TIMEZONE('Europe/Prague', TIMEZONE('UTC', {schema}."orders"."ordered_at")) AS "ordered_local" FROM {schema}."orders" ORDER BY {schema}."orders"."id" ASC LIMIT 2000

-- @ question-join-breakout extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (implicit join through the FK and a breakout)
SELECT "Customers"."country" AS "Customers__country", COUNT(*) AS "count", SUM({schema}."orders"."amount") AS "sum" FROM {schema}."orders" LEFT JOIN {schema}."customers" AS "Customers" ON {schema}."orders"."customer_id" = "Customers"."id" GROUP BY "Customers"."country" ORDER BY "Customers"."country" ASC

-- @ question-text-cast extended
-- question compiled by the sql query processor with the postgres date/time methods of metabase/metabase src/metabase/driver/postgres.clj (:text and pg-conversion ::integer)
SELECT CAST({schema}."orders"."quantity" AS TEXT) AS "q", {schema}."orders"."quantity"::integer AS "qi" FROM {schema}."orders" ORDER BY {schema}."orders"."id" ASC LIMIT 2000

-- @ question-native-now shape extended
-- a native question checking the connection (SELECT NOW()), as current-datetime-honeysql-form compiles :now
SELECT NOW()

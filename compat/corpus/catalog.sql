-- Catalog probes written for the scoreboard: pg_namespace, pg_class, pg_attribute, pg_type,
-- pg_index, pg_constraint, pg_views/pg_tables/pg_indexes, format_type, regclass and the
-- information_schema views, filtered to the fixture schema. Built-in type OIDs are fixed in
-- PostgreSQL and compared as values; OIDs of the fixture objects are not selected.

-- @ namespace
-- probe: the fixture schema in pg_namespace
SELECT nspname, pg_get_userbyid(nspowner) IS NOT NULL AS has_owner, nspacl IS NULL AS no_acl FROM pg_catalog.pg_namespace WHERE nspname = '{schema_name}'

-- @ namespace-builtin
-- probe: the built-in schemas
SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'public') ORDER BY nspname

-- @ namespace-oid-shape shape
-- probe: the schema OID (shape)
SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname = '{schema_name}'

-- @ class
-- probe: relations of the schema: tables, view, indexes
SELECT c.relname, c.relkind, c.relnatts, c.relhasindex, c.relpersistence, c.relispartition, c.relhasrules, c.relchecks FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' ORDER BY c.relname

-- @ class-kinds
-- probe: relation kinds of the schema
SELECT c.relkind, count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' GROUP BY c.relkind ORDER BY c.relkind

-- @ class-regclass
-- probe: regclass text of schema-qualified names
SELECT c.oid::regclass::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' ORDER BY 1

-- @ class-visible
-- probe: the schema is not on the search path: not visible
SELECT c.relname, pg_catalog.pg_table_is_visible(c.oid) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' AND c.relkind IN ('r', 'v') ORDER BY c.relname

-- @ class-oid-shape shape
-- probe: OIDs of the fixture relations (shape)
SELECT c.oid, c.relname, c.reltype, c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' ORDER BY c.relname

-- @ attribute
-- probe: columns of the fixture tables and view: type OIDs, typmods, lengths, NOT NULL
SELECT c.relname, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attlen, a.attnotnull, a.atthasdef, a.attisdropped, a.attndims FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' AND c.relkind IN ('r', 'v') AND a.attnum > 0 ORDER BY c.relname, a.attnum

-- @ attribute-system-columns
-- probe: system columns (ctid, xmin, ...)
SELECT a.attname, a.attnum FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' AND c.relname = 'customers' AND a.attnum < 0 ORDER BY a.attnum

-- @ format-type
-- probe: format_type with and without typmod
SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}' AND c.relkind = 'r' AND a.attnum > 0 ORDER BY c.relname, a.attnum

-- @ type-of-columns
-- probe: pg_type rows of the types the fixture uses
SELECT DISTINCT t.typname, t.typlen, t.typbyval, t.typtype, t.typcategory, t.typdelim, t.typelem, t.typarray, t.typinput::text, t.typoutput::text FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_type t ON t.oid = a.atttypid WHERE n.nspname = '{schema_name}' AND a.attnum > 0 ORDER BY t.typname

-- @ type-builtin-oids
-- probe: built-in type OIDs drivers rely on
SELECT oid, typname, typarray, typlen FROM pg_catalog.pg_type WHERE typname IN ('bool', 'bytea', 'int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'text', 'varchar', 'bpchar', 'name', 'char', 'date', 'time', 'timestamp', 'timestamptz', 'interval', 'uuid', 'json', 'jsonb', 'oid', 'unknown') AND typnamespace = 'pg_catalog'::regnamespace ORDER BY oid

-- @ type-format-builtins
-- probe: format_type of built-in types with a typmod
SELECT format_type(oid, NULL), format_type(oid, 9) FROM (VALUES (1043::oid), (1042), (1700), (1114), (23), (16)) v(oid) ORDER BY oid

-- @ type-regtype
-- probe: regtype input and output
SELECT 'integer'::regtype::oid, 'character varying'::regtype::oid, 'timestamp with time zone'::regtype, 'int8[]'::regtype, to_regtype('nope')

-- @ index
-- probe: primary-key indexes and their definitions
SELECT c.relname AS index_name, t.relname AS table_name, i.indisprimary, i.indisunique, i.indnatts, i.indkey::text, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_class t ON t.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = '{schema_name}' ORDER BY c.relname

-- @ constraint
-- probe: constraints of the schema
SELECT co.conname, co.contype, t.relname, co.conkey, co.condeferrable, co.convalidated, pg_catalog.pg_get_constraintdef(co.oid) FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class t ON t.oid = co.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = co.connamespace WHERE n.nspname = '{schema_name}' ORDER BY co.conname

-- @ attrdef
-- probe: no column defaults in the fixture
SELECT count(*) FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_class c ON c.oid = d.adrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}'

-- @ description
-- probe: no comments in the fixture
SELECT count(*) FROM pg_catalog.pg_description d JOIN pg_catalog.pg_class c ON c.oid = d.objoid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}'

-- @ obj-description
-- probe: comment functions return NULL
SELECT obj_description('{schema}.customers'::regclass, 'pg_class'), col_description('{schema}.customers'::regclass, 1), shobj_description(0, 'pg_database')

-- @ regclass-text
-- probe: regclass of schema-qualified and quoted names
SELECT '{schema}.customers'::regclass::text, '{schema}."orders"'::regclass::text, to_regclass('{schema}.nope'), to_regclass('{schema}.big_orders')::text

-- @ regclass-unqualified
-- probe: a table outside the search path: 42P01
SELECT 'customers'::regclass

-- @ regnamespace
-- probe: regnamespace of a quoted schema name
SELECT '{schema}'::regnamespace::text, 'pg_catalog'::regnamespace::oid

-- @ regnamespace-unquoted
-- probe: regnamespace of the unquoted dotted name: 42602
SELECT '{schema_name}'::regnamespace

-- @ pg-tables
-- probe: pg_tables
SELECT schemaname, tablename, hasindexes, hasrules, hastriggers, rowsecurity FROM pg_catalog.pg_tables WHERE schemaname = '{schema_name}' ORDER BY tablename

-- @ pg-views
-- probe: pg_views with the view definition text
SELECT schemaname, viewname, definition FROM pg_catalog.pg_views WHERE schemaname = '{schema_name}' ORDER BY viewname

-- @ pg-indexes
-- probe: pg_indexes
SELECT schemaname, tablename, indexname, indexdef FROM pg_catalog.pg_indexes WHERE schemaname = '{schema_name}' ORDER BY indexname

-- @ viewdef
-- probe: pg_get_viewdef pretty and not
SELECT pg_get_viewdef('{schema}.big_orders'::regclass), pg_get_viewdef('{schema}.big_orders'::regclass, true)

-- @ pg-stat-user-tables-shape shape
-- probe: statistics views: counters vary (shape)
SELECT relname, seq_scan IS NOT NULL, n_live_tup FROM pg_catalog.pg_stat_user_tables WHERE schemaname = '{schema_name}' ORDER BY relname

-- @ relation-size-shape shape
-- probe: relation sizes (shape)
SELECT pg_relation_size('{schema}.orders'), pg_total_relation_size('{schema}.orders'), pg_size_pretty(pg_table_size('{schema}.orders'))

-- @ is-tables
-- probe: information_schema.tables
SELECT table_catalog IS NOT NULL, table_schema, table_name, table_type, is_insertable_into, is_typed FROM information_schema.tables WHERE table_schema = '{schema_name}' ORDER BY table_name

-- @ is-columns
-- probe: information_schema.columns: data types, lengths, precisions
SELECT table_name, column_name, ordinal_position, column_default, is_nullable, data_type, character_maximum_length, character_octet_length, numeric_precision, numeric_precision_radix, numeric_scale, datetime_precision, udt_name, is_identity, is_generated, is_updatable FROM information_schema.columns WHERE table_schema = '{schema_name}' ORDER BY table_name, ordinal_position

-- @ is-columns-orders
-- probe: information_schema.columns of orders
SELECT column_name, data_type, numeric_precision, numeric_scale, datetime_precision FROM information_schema.columns WHERE table_schema = '{schema_name}' AND table_name = 'orders' ORDER BY ordinal_position

-- @ is-table-constraints
-- probe: information_schema.table_constraints (key constraints)
SELECT constraint_name, table_name, constraint_type, is_deferrable, initially_deferred FROM information_schema.table_constraints WHERE table_schema = '{schema_name}' AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') ORDER BY constraint_name

-- @ is-table-constraints-all
-- probe: information_schema.table_constraints including NOT NULL checks
SELECT table_name, constraint_type, count(*) FROM information_schema.table_constraints WHERE table_schema = '{schema_name}' GROUP BY 1, 2 ORDER BY 1, 2

-- @ is-key-column-usage
-- probe: information_schema.key_column_usage
SELECT constraint_name, table_name, column_name, ordinal_position, position_in_unique_constraint FROM information_schema.key_column_usage WHERE table_schema = '{schema_name}' ORDER BY constraint_name, ordinal_position

-- @ is-referential
-- probe: no foreign keys in the fixture
SELECT count(*) FROM information_schema.referential_constraints WHERE constraint_schema = '{schema_name}'

-- @ is-views
-- probe: information_schema.views
SELECT table_name, view_definition, check_option, is_updatable FROM information_schema.views WHERE table_schema = '{schema_name}' ORDER BY table_name

-- @ is-schemata
-- probe: information_schema.schemata filtered to the schema
SELECT schema_name FROM information_schema.schemata WHERE schema_name = '{schema_name}'

-- @ is-view-table-usage
-- probe: information_schema.view_table_usage
SELECT view_name, table_name FROM information_schema.view_table_usage WHERE view_schema = '{schema_name}' ORDER BY 1, 2

-- @ is-routines
-- probe: no routines in the fixture schema
SELECT count(*) FROM information_schema.routines WHERE routine_schema = '{schema_name}'

-- @ is-table-privileges
-- probe: privileges of the owner on the fixture tables
SELECT table_name, privilege_type FROM information_schema.table_privileges WHERE table_schema = '{schema_name}' AND grantee = current_user ORDER BY 1, 2

-- @ proc-builtin
-- probe: pg_proc rows of built-in functions
SELECT proname, pronargs, prorettype::regtype, proretset FROM pg_catalog.pg_proc WHERE proname IN ('now', 'version', 'generate_series', 'pg_get_viewdef') AND pronamespace = 'pg_catalog'::regnamespace ORDER BY proname, pronargs, prorettype::regtype::text

-- @ database
-- probe: the current database row
SELECT datname = current_database(), pg_encoding_to_char(encoding), datallowconn, datistemplate FROM pg_catalog.pg_database WHERE datname = current_database()

-- @ roles-current
-- probe: the current role
SELECT rolname = current_user, rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = current_user

-- @ am
-- probe: access methods
SELECT amname, amtype FROM pg_catalog.pg_am ORDER BY amname

-- @ inherits
-- probe: no inheritance in the fixture
SELECT count(*) FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{schema_name}'

-- @ depend-view
-- probe: the tables the view depends on
SELECT DISTINCT r.relname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class JOIN pg_catalog.pg_class r ON r.oid = d.refobjid JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace WHERE n.nspname = '{schema_name}' AND v.relname = 'big_orders' AND d.refobjid <> v.oid ORDER BY 1

-- @ sequence
-- probe: no sequences in the fixture
SELECT count(*) FROM pg_catalog.pg_sequences WHERE schemaname = '{schema_name}'

-- @ extension
-- probe: plpgsql is installed
SELECT extname FROM pg_catalog.pg_extension WHERE extname = 'plpgsql'

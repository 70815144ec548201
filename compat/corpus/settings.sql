-- Session and server information: SHOW, current_setting, set_config, version() and the session
-- functions clients read after connecting. Server-specific values are compared by shape.

-- @ show-server-version shape
-- probe: server version: shape
SHOW server_version

-- @ show-server-version-num shape
-- probe: server version number: shape
SHOW server_version_num

-- @ show-server-encoding
-- probe: UTF8
SHOW server_encoding

-- @ show-client-encoding
-- probe: UTF8 (libpq default of the runner)
SHOW client_encoding

-- @ show-datestyle
-- probe: ISO, MDY
SHOW DateStyle

-- @ show-intervalstyle
-- probe: postgres
SHOW IntervalStyle

-- @ show-timezone
-- probe: UTC on the capture server
SHOW TimeZone

-- @ show-time-zone-spaced
-- probe: SHOW TIME ZONE spelling
SHOW TIME ZONE

-- @ show-integer-datetimes
-- probe: on
SHOW integer_datetimes

-- @ show-standard-conforming-strings
-- probe: on
SHOW standard_conforming_strings

-- @ show-search-path
-- probe: "$user", public
SHOW search_path

-- @ show-transaction-isolation
-- probe: read committed
SHOW transaction_isolation

-- @ show-transaction-isolation-level
-- probe: SHOW TRANSACTION ISOLATION LEVEL spelling
SHOW TRANSACTION ISOLATION LEVEL

-- @ show-default-read-only
-- probe: off
SHOW default_transaction_read_only

-- @ show-max-identifier-length
-- probe: 63
SHOW max_identifier_length

-- @ show-extra-float-digits
-- probe: 1
SHOW extra_float_digits

-- @ show-bytea-output
-- probe: hex
SHOW bytea_output

-- @ show-application-name
-- probe: the runner sets none: empty
SHOW application_name

-- @ show-statement-timeout
-- probe: 0
SHOW statement_timeout

-- @ show-lc-collate shape
-- probe: locale of the server: shape
SHOW lc_collate

-- @ show-is-superuser shape
-- probe: depends on the user: shape
SHOW is_superuser

-- @ show-all columns
-- probe: every setting: compared by columns only
SHOW ALL

-- @ show-unknown
-- probe: unknown setting: 42704
SHOW no_such_setting

-- @ current-setting
-- probe: current_setting()
SELECT current_setting('DateStyle'), current_setting('TimeZone'), current_setting('standard_conforming_strings')

-- @ current-setting-version
-- probe: the version check clients do
SELECT current_setting('server_version_num')::int >= 90000

-- @ current-setting-missing-ok
-- probe: current_setting(name, missing_ok) is NULL
SELECT current_setting('no.such_setting', true)

-- @ current-setting-missing
-- probe: unknown setting: 42704
SELECT current_setting('no_such_setting')

-- @ set-config
-- probe: set_config returns the new value
SELECT set_config('application_name', 'compat-probe', false)

-- @ pg-settings-row
-- probe: pg_settings rows for settings drivers read
SELECT name, setting, unit, vartype FROM pg_settings WHERE name IN ('DateStyle', 'integer_datetimes', 'max_identifier_length', 'standard_conforming_strings') ORDER BY name

-- @ set-then-show
-- probe: SET then SHOW in one simple query
SET extra_float_digits = 3; SHOW extra_float_digits

-- @ set-local-outside-tx
-- probe: SET LOCAL outside a transaction: warning, tag SET
SET LOCAL statement_timeout = '5s'

-- @ set-timezone-literal
-- probe: SET TIME ZONE
SET TIME ZONE 'UTC'

-- @ set-names
-- probe: SET NAMES
SET NAMES 'UTF8'

-- @ set-session-characteristics
-- probe: SET SESSION CHARACTERISTICS (pgjdbc)
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED

-- @ reset
-- probe: RESET
RESET extra_float_digits

-- @ discard-all
-- probe: DISCARD ALL (connection pools)
DISCARD ALL

-- @ version shape
-- probe: version(): shape
SELECT version()

-- @ current-database shape
-- probe: database name: shape
SELECT current_database()

-- @ current-user shape
-- probe: user names: shape
SELECT current_user, session_user, user, current_role

-- @ current-schema
-- probe: public on the capture server
SELECT current_schema, current_schema()

-- @ current-schemas
-- probe: current_schemas()
SELECT current_schemas(false), current_schemas(true)

-- @ backend-pid shape
-- probe: pid: shape
SELECT pg_backend_pid()

-- @ now-functions shape
-- probe: times: shape
SELECT now(), current_timestamp, current_date, current_time, localtimestamp, clock_timestamp(), statement_timestamp(), transaction_timestamp()

-- @ now-consistency
-- probe: now() is the transaction start
SELECT now() = current_timestamp, now() = transaction_timestamp(), current_date = now()::date

-- @ postmaster-start
-- probe: server start time is in the past
SELECT pg_postmaster_start_time() < now(), pg_conf_load_time() IS NOT NULL

-- @ is-in-recovery
-- probe: false on a primary
SELECT pg_is_in_recovery()

-- @ inet-server
-- probe: server address over TCP
SELECT inet_server_addr() IS NOT NULL, inet_server_port() > 0

-- @ encoding-name
-- probe: UTF8, UTF8
SELECT pg_client_encoding(), getdatabaseencoding()

-- @ has-privileges
-- probe: privilege functions on the fixture
SELECT has_schema_privilege('{schema_name}', 'USAGE'), has_table_privilege('{schema}.customers', 'SELECT'), has_database_privilege(current_database(), 'CONNECT')

-- @ txid-snapshot-shape
-- probe: snapshot functions exist
SELECT pg_current_snapshot() IS NOT NULL

-- @ begin-commit
-- probe: a transaction in one simple query
BEGIN; SELECT 1; COMMIT

-- @ begin-read-only
-- probe: BEGIN READ ONLY
BEGIN READ ONLY; SELECT count(*) FROM {schema}.customers; COMMIT

-- @ start-transaction-isolation
-- probe: START TRANSACTION with an isolation level
START TRANSACTION ISOLATION LEVEL REPEATABLE READ; SHOW transaction_isolation; ROLLBACK

-- @ commit-outside-tx
-- probe: COMMIT outside a transaction: warning, tag COMMIT
COMMIT

-- @ rollback-outside-tx
-- probe: ROLLBACK outside a transaction: warning, tag ROLLBACK
ROLLBACK

-- @ savepoint-outside-tx
-- probe: SAVEPOINT outside a transaction: 25P01
SAVEPOINT sp1

-- @ listen-unlisten
-- probe: UNLISTEN * (connection pools reset with it)
UNLISTEN *

-- @ deallocate-all
-- probe: DEALLOCATE ALL
DEALLOCATE ALL

-- @ prepare-execute
-- probe: SQL-level PREPARE/EXECUTE/DEALLOCATE
PREPARE q1(int) AS SELECT name FROM {schema}.customers WHERE id = $1; EXECUTE q1(2); DEALLOCATE q1

-- @ explain columns
-- probe: EXPLAIN: one text column "QUERY PLAN" (the plan differs: columns only)
EXPLAIN (COSTS OFF) SELECT * FROM {schema}.customers WHERE id = 1

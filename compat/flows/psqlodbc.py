"""pyodbc over Debian's psqlODBC (the Unicode driver, psqlodbcw.so) with a DSN-less connection string,
as ODBC tools use it: connect, the catalog functions (SQLTables, SQLColumns, SQLPrimaryKeys,
SQLForeignKeys, SQLStatistics, SQLSpecialColumns), a query with `?` parameters of several types, and
fetching results with their description.

Every step runs in a child process of its own (this script with --step NAME, which connects, does
the one call and prints its result): a driver that crashes the client (SQLStatistics was reported to
against duckstore) makes that step fail with "crashed (signal N)" and the flow goes on.

Normalised, because it necessarily differs between servers: the DBMS version (not reported) and
SQLStatistics' CARDINALITY and PAGES (table statistics, not reported).
"""

import datetime
import decimal
import json
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # keep compat/flows/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _flowlib import Flow, describe_error, env as flow_env, plain, rows_as_text, text  # noqa: E402

DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"
CHILD_TIMEOUT_S = 60


def odbc_value(v):
    """ODBC connection-string value, braced when it holds characters that need it."""
    v = str(v)
    if any(c in v for c in ";{}=[]()," ) or v != v.strip():
        return "{" + v.replace("}", "}}") + "}"
    return v


def connection_string(e):
    return ";".join([
        f"DRIVER={{{DRIVER}}}",
        f"SERVER={odbc_value(e['host'])}",
        f"PORT={e['port']}",
        f"DATABASE={odbc_value(e['dbname'])}",
        f"UID={odbc_value(e['user'])}",
        f"PWD={odbc_value(e['password'])}",
        f"SSLmode={odbc_value(e['sslmode'])}",
    ])


# ---------------------------------------------------------------- the steps (run in the child)

PARAMS = [
    2,                                      # int
    "Globex",                               # str
    decimal.Decimal("99999.99"),            # Decimal
    datetime.date(2020, 1, 1),              # date
    datetime.datetime(2024, 7, 1, 0, 0, 0), # datetime
    True,                                   # bool
    None,                                   # None
]


def steps(schema):
    q = '"' + schema.replace('"', '""') + '"'

    def connect(conn, cur):
        import pyodbc
        # SQL_DBMS_VER is left out: the server version necessarily differs.
        return {"dbms_name": conn.getinfo(pyodbc.SQL_DBMS_NAME),
                "select_1": cur.execute("SELECT 1").fetchone()[0]}

    def tables_all(conn, cur):
        return sorted([r.table_schem, r.table_name, r.table_type] for r in cur.tables())

    def tables_schema(conn, cur):
        return sorted([r.table_schem, r.table_name, r.table_type] for r in cur.tables(schema=schema))

    def tables_views(conn, cur):
        return sorted([r.table_schem, r.table_name, r.table_type]
                      for r in cur.tables(schema=schema, tableType="VIEW"))

    def columns(table):
        def go(conn, cur):
            return [[r.column_name, r.type_name, r.data_type, r.column_size, r.decimal_digits, r.nullable,
                     r.ordinal_position] for r in cur.columns(table=table, schema=schema)]
        return go

    def primary_keys(table):
        def go(conn, cur):
            return [[r.column_name, r.key_seq, r.pk_name] for r in cur.primaryKeys(table, schema=schema)]
        return go

    def foreign_keys(conn, cur):
        return [[r.pktable_schem, r.pktable_name, r.pkcolumn_name, r.fktable_name, r.fkcolumn_name]
                for r in cur.foreignKeys(table="orders", schema=schema)]

    def statistics(table):
        def go(conn, cur):
            # CARDINALITY and PAGES are the server's statistics: left out
            return [[r.non_unique, r.index_name, r.type, r.ordinal_position, r.column_name, r.asc_or_desc]
                    for r in cur.statistics(table, schema=schema)]
        return go

    def row_id_columns(conn, cur):
        return [[r.column_name, r.type_name, r.scope] for r in cur.rowIdColumns("orders", schema=schema)]

    def query_params(conn, cur):
        cur.execute(
            f"SELECT o.id, c.name, o.amount, o.ordered_at FROM {q}.orders o "
            f"JOIN {q}.customers c ON c.id = o.customer_id "
            f"WHERE o.customer_id <> ? AND c.name <> ? AND o.amount <= ? AND c.created >= ? "
            f"AND o.ordered_at < ? AND c.active = ? AND CAST(? AS TEXT) IS NULL ORDER BY o.id", *PARAMS)
        return rows_as_text(cur.fetchall())

    def query_params_echo(conn, cur):
        cur.execute(
            "SELECT CAST(? AS INTEGER) AS i, CAST(? AS TEXT) AS s, CAST(? AS NUMERIC(12,2)) AS d, "
            "CAST(? AS DATE) AS dt, CAST(? AS TIMESTAMP) AS ts, CAST(? AS BOOLEAN) AS b, CAST(? AS TEXT) AS n",
            *PARAMS)
        row = cur.fetchone()
        return [[type(v).__name__, text(v)] for v in row]

    def description(cur):
        return [[d[0], d[1].__name__, d[3], d[4], d[5], d[6]] for d in cur.description]

    def fetch_customers(conn, cur):
        cur.execute(f"SELECT * FROM {q}.customers ORDER BY id")
        return {"description": description(cur), "rows": rows_as_text(cur.fetchall())}

    def fetch_orders_in_parts(conn, cur):
        cur.execute(f"SELECT * FROM {q}.orders ORDER BY id")
        first = cur.fetchone()
        many = cur.fetchmany(2)
        rest = cur.fetchall()
        return {"description": description(cur), "fetchone": rows_as_text([first])[0] if first else None,
                "fetchmany_2": rows_as_text(many), "fetchall": rows_as_text(rest)}

    def fetch_events(conn, cur):
        cur.execute(f"SELECT kind, payload, happened FROM {q}.events ORDER BY happened NULLS LAST")
        return {"description": description(cur), "rows": rows_as_text(cur.fetchall())}

    return [
        ("connect", connect),
        ("tables", tables_all),
        ("tables.schema", tables_schema),
        ("tables.views", tables_views),
        ("columns.customers", columns("customers")),
        ("columns.orders", columns("orders")),
        ("columns.big_orders", columns("big_orders")),
        ("primaryKeys.orders", primary_keys("orders")),
        ("primaryKeys.events", primary_keys("events")),
        ("foreignKeys.orders", foreign_keys),
        ("statistics.orders", statistics("orders")),
        ("statistics.events", statistics("events")),
        ("rowIdColumns.orders", row_id_columns),
        ("query.params", query_params),
        ("query.params_echo", query_params_echo),
        ("fetch.customers", fetch_customers),
        ("fetch.orders_in_parts", fetch_orders_in_parts),
        ("fetch.events", fetch_events),
    ]


def child(name):
    """Run one step and print {"ok", "value"|"error"} as the last line of stdout."""
    e = flow_env()
    fn = dict(steps(e["schema"]))[name]
    try:
        import pyodbc
        conn = pyodbc.connect(connection_string(e), timeout=10)
        try:
            cur = conn.cursor()
            out = {"ok": True, "value": plain(fn(conn, cur))}
        finally:
            conn.close()
    except Exception as ex:  # noqa: BLE001 - reported to the parent as the step's error
        out = {"ok": False, "error": describe_error(ex)}
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- the parent

class ChildFailed(Exception):
    plain_message = True  # its message is the step's error as is


def run_in_child(name):
    try:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--step", name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"timed out after {CHILD_TIMEOUT_S} s")
    if done.returncode < 0:
        sig = -done.returncode
        try:
            sig_name = signal.Signals(sig).name
        except ValueError:
            sig_name = "?"
        raise ChildFailed(f"crashed (signal {sig}, {sig_name})")
    lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
    if not lines:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise ChildFailed(f"the child exited with {done.returncode} without a result: {tail}")
    result = json.loads(lines[-1])
    if not result["ok"]:
        raise ChildFailed(result["error"])
    return result["value"]


def main():
    flow = Flow()
    for name, _fn in steps(flow.env["schema"]):
        flow.step(name, lambda name=name: run_in_child(name), timeout=CHILD_TIMEOUT_S + 10)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--step":
        child(sys.argv[2])
    else:
        main()

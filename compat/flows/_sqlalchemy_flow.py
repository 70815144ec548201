"""The SQLAlchemy 2.0 client flow, shared by sqlalchemy_psycopg2.py and sqlalchemy_psycopg.py (the
same steps over each DBAPI driver): reflection through inspect(), Table autoload, pandas read_sql /
to_sql, server-side streaming and text() with bound parameters of several types.

Step values are what the user's code gets back: sorted name lists, column names with their type
compiled by the PostgreSQL dialect (what str() of the type prints for the user's dialect), rows as
lists of strings. Nothing server-specific is normalised here except the server version (never
reported).
"""

import datetime
import decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import text

from _flowlib import Flow, requires, rows_as_text, text as as_text

# The fixture's tables (compat/fixture.sql) and its view.
TABLES = ["customers", "orders", "events"]
VIEW = "big_orders"


def run(driver):
    flow = Flow()
    env = flow.env
    schema = env["schema"]
    q_schema = '"' + schema.replace('"', '""') + '"'
    url = sa.engine.URL.create(
        f"postgresql+{driver}", username=env["user"], password=env["password"], host=env["host"],
        port=env["port"], database=env["dbname"], query={"sslmode": env["sslmode"]},
    )
    engine = sa.create_engine(url, connect_args={"connect_timeout": 10}, pool_pre_ping=False)
    dialect = engine.dialect

    def type_str(t):
        try:
            return t.compile(dialect=dialect)
        except Exception:  # a type the dialect cannot compile (NullType): what str() shows
            return str(t)

    # ------------------------------------------------------------------ connect
    def connect():
        with engine.connect() as conn:
            one = conn.execute(text("SELECT 1")).scalar()
            # server_version_info is left out: it necessarily differs between servers.
            return {"default_schema_name": conn.dialect.default_schema_name, "select_1": one}

    connected, _ = flow.step("connect", connect)

    # ------------------------------------------------------------------ inspect()
    def insp():
        return sa.inspect(engine)

    flow.step("inspect.get_schema_names", lambda: sorted(insp().get_schema_names()))
    flow.step("inspect.get_table_names", lambda: sorted(insp().get_table_names(schema=schema)))
    flow.step("inspect.get_view_names", lambda: sorted(insp().get_view_names(schema=schema)))

    def columns(table):
        return [
            {"name": c["name"], "type": type_str(c["type"]), "nullable": c["nullable"]}
            for c in insp().get_columns(table, schema=schema)
        ]

    for table in TABLES + [VIEW]:
        flow.step(f"inspect.get_columns.{table}", lambda table=table: columns(table))

    for table in TABLES:
        flow.step(f"inspect.get_pk_constraint.{table}", lambda table=table: {
            "constrained_columns": insp().get_pk_constraint(table, schema=schema)["constrained_columns"]})

    def foreign_keys(table):
        return [
            {"constrained_columns": fk["constrained_columns"], "referred_schema": fk["referred_schema"],
             "referred_table": fk["referred_table"], "referred_columns": fk["referred_columns"]}
            for fk in insp().get_foreign_keys(table, schema=schema)
        ]

    def indexes(table):
        return sorted(
            ({"name": ix["name"], "column_names": ix["column_names"], "unique": ix["unique"]}
             for ix in insp().get_indexes(table, schema=schema)),
            key=lambda ix: str(ix["name"]),
        )

    def uniques(table):
        return sorted(
            ({"name": u["name"], "column_names": u["column_names"]}
             for u in insp().get_unique_constraints(table, schema=schema)),
            key=lambda u: str(u["name"]),
        )

    flow.step("inspect.get_foreign_keys.orders", lambda: foreign_keys("orders"))
    flow.step("inspect.get_indexes.orders", lambda: indexes("orders"))
    flow.step("inspect.get_indexes.customers", lambda: indexes("customers"))
    flow.step("inspect.get_unique_constraints.orders", lambda: uniques("orders"))
    flow.step("inspect.has_table", lambda: {
        name: insp().has_table(name, schema=schema) for name in ["customers", VIEW, "no_such_table"]})

    # ------------------------------------------------------------------ Table autoload
    holder = {}

    def autoload():
        t = sa.Table("orders", sa.MetaData(), schema=schema, autoload_with=engine)
        holder["orders"] = t
        return {
            "columns": [[c.name, type_str(c.type), c.nullable, c.primary_key] for c in t.columns],
            "primary_key": [c.name for c in t.primary_key.columns],
        }

    flow.step("table.autoload", autoload)

    def select_through_table():
        requires("orders" in holder, "table.autoload")
        t = holder["orders"]
        stmt = sa.select(t.c.id, t.c.customer_id, t.c.amount, t.c.note, t.c.ordered_at).where(
            t.c.amount > decimal.Decimal("1")).order_by(t.c.id)
        with engine.connect() as conn:
            return rows_as_text(conn.execute(stmt).all())

    flow.step("table.select", select_through_table)

    # ------------------------------------------------------------------ pandas
    def frame(df):
        return {
            "columns": [str(c) for c in df.columns],
            "dtypes": [str(t) for t in df.dtypes],
            "rows": [[as_text(v) for v in row] for row in df.itertuples(index=False, name=None)],
        }

    query = (f"SELECT o.id, c.name, o.amount, o.quantity, o.discount, o.weight, o.ordered_at, o.shipped_at, "
             f"c.active, c.created FROM {q_schema}.orders o JOIN {q_schema}.customers c ON c.id = o.customer_id "
             f"ORDER BY o.id")

    def read_sql_query():
        with engine.connect() as conn:
            return frame(pd.read_sql(text(query), conn))

    flow.step("pandas.read_sql.query", read_sql_query)

    def read_sql_table():
        with engine.connect() as conn:
            df = pd.read_sql_table("customers", conn, schema=schema)
        # read_sql_table has no ORDER BY: order the rows as the user would before looking at them
        return frame(df.sort_values("id", kind="stable").reset_index(drop=True))

    flow.step("pandas.read_sql.table", read_sql_table)

    # to_sql: a new table named after the target (and the driver: both SQLAlchemy flows write)
    new_table = f"to_sql_{env['target']}_{driver}"
    q_new = f"{q_schema}.\"{new_table}\""
    try:  # leftovers of an interrupted earlier run (not a step: the runner starts from empty targets)
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {q_new}"))
    except Exception:
        pass

    df_out = pd.DataFrame({
        "id": [1, 2, 3],
        "label": ["alpha", "beta", None],
        "price": [1.5, None, -2.25],
        "qty": pd.array([10, None, 30], dtype="Int64"),
        "flag": [True, False, True],
        "at": pd.to_datetime(["2024-01-02 03:04:05", "2024-02-29 00:00:00", None]),
        "day": [datetime.date(2024, 1, 1), datetime.date(2023, 12, 31), None],
    })

    wrote, _ = flow.step("pandas.to_sql.write", lambda: {
        "returned": df_out.to_sql(new_table, engine, schema=schema, index=False)})
    flow.step("pandas.to_sql.columns", lambda: columns(new_table))

    def read_back():
        with engine.connect() as conn:
            return frame(pd.read_sql(text(f"SELECT * FROM {q_new} ORDER BY id"), conn))

    flow.step("pandas.to_sql.read_back", read_back)

    def drop():
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {q_new}"))
        return {"has_table_after_drop": sa.inspect(engine).has_table(new_table, schema=schema)}

    flow.step("pandas.to_sql.drop", drop)

    # ------------------------------------------------------------------ streaming
    stream_sql = text(f"SELECT id, customer_id, amount, ordered_at FROM {q_schema}.orders ORDER BY id")

    def stream_results():
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=2).execute(stream_sql)
            rows = [row for row in result]
            return rows_as_text(rows)

    flow.step("stream_results", stream_results)

    def yield_per():
        with engine.connect() as conn:
            # the Core recipe: yield_per (a server-side cursor, a 4-row buffer), read in partitions of 4
            result = conn.execution_options(yield_per=4).execute(stream_sql)
            parts = [rows_as_text(p) for p in result.partitions(4)]
            return {"partition_sizes": [len(p) for p in parts], "rows": [r for p in parts for r in p]}

    flow.step("yield_per", yield_per)

    # ------------------------------------------------------------------ text() with bound parameters
    params = {
        "cid": 2,                                   # int
        "name": "Globex",                           # str
        "max_amount": decimal.Decimal("99999.99"),  # Decimal
        "since": datetime.date(2020, 1, 1),         # date
        "before": datetime.datetime(2024, 7, 1, 0, 0, 0),  # datetime
        "active": True,                             # bool
        "nothing": None,                            # None
    }

    def params_filter():
        sql = text(
            f"SELECT o.id, c.name, o.amount, o.ordered_at FROM {q_schema}.orders o "
            f"JOIN {q_schema}.customers c ON c.id = o.customer_id "
            f"WHERE o.customer_id <> :cid AND c.name <> :name AND o.amount <= :max_amount "
            f"AND c.created >= :since AND o.ordered_at < :before AND c.active = :active "
            f"AND CAST(:nothing AS TEXT) IS NULL ORDER BY o.id")
        with engine.connect() as conn:
            return rows_as_text(conn.execute(sql, params).all())

    flow.step("text.params.filter", params_filter)

    def params_echo():
        sql = text(
            "SELECT CAST(:cid AS INTEGER) AS i, CAST(:name AS TEXT) AS s, CAST(:max_amount AS NUMERIC(12,2)) AS d, "
            "CAST(:since AS DATE) AS dt, CAST(:before AS TIMESTAMP) AS ts, CAST(:active AS BOOLEAN) AS b, "
            "CAST(:nothing AS TEXT) AS n")
        with engine.connect() as conn:
            row = conn.execute(sql, params).one()
            return [[type(v).__name__, as_text(v)] for v in row]

    flow.step("text.params.echo", params_echo)

    def params_untyped():
        # No casts: the server (psycopg 3: server-side binding) or the driver (psycopg2: literals
        # inlined client-side) decides the types, as in a user's quick "SELECT :x".
        sql = text("SELECT :cid AS i, :name AS s, :max_amount AS d, :since AS dt, :before AS ts, "
                   ":active AS b, :nothing AS n")
        with engine.connect() as conn:
            row = conn.execute(sql, params).one()
            return [[type(v).__name__, as_text(v)] for v in row]

    flow.step("text.params.untyped", params_untyped)

    def params_insert_many():
        # executemany of an INSERT with typed parameters into a scratch table, read back, dropped
        scratch = f"{q_schema}.\"params_{env['target']}_{driver}\""
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {scratch}"))
            conn.execute(text(f"CREATE TABLE {scratch} (i INTEGER, s TEXT, d NUMERIC(12,2), dt DATE, "
                              f"ts TIMESTAMP, b BOOLEAN, n TEXT)"))
        try:
            with engine.begin() as conn:
                conn.execute(text(f"INSERT INTO {scratch} VALUES (:i, :s, :d, :dt, :ts, :b, :n)"), [
                    {"i": 1, "s": "one", "d": decimal.Decimal("1.10"), "dt": datetime.date(2024, 1, 1),
                     "ts": datetime.datetime(2024, 1, 1, 12, 0), "b": True, "n": None},
                    {"i": 2, "s": "two's", "d": decimal.Decimal("-2.5"), "dt": datetime.date(1999, 12, 31),
                     "ts": datetime.datetime(1999, 12, 31, 23, 59, 59, 500000), "b": False, "n": None},
                ])
            with engine.connect() as conn:
                return rows_as_text(conn.execute(text(f"SELECT * FROM {scratch} ORDER BY i")).all())
        finally:
            with engine.begin() as conn:
                conn.execute(text(f"DROP TABLE IF EXISTS {scratch}"))

    flow.step("text.params.executemany", params_insert_many)

    engine.dispose()

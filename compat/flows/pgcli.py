"""pgcli 4 starting up as a user starts it: pgcli's own PGExecute connects, pgcli's startup reads the
server's time zone and sets the user's, the completion refresher (a second connection, as pgcli's
background refresh opens) runs every metadata query pgcli completes from, completions are asked
for, and the special commands users type (\\dn, \\dt, \\d, ...) run through pgspecial.

Normalised, because it necessarily differs between servers (as the psql flow does): the "Owner"
column of \\dn, \\dt and friends ("<owner>": PostgreSQL's owner is the connected role or
pg_database_owner, duckstore's its own role), any other cell holding the connected user's name
("<user>"), the list of databases (only whether the one connected to is listed), and the server's
own catalog schemas (pg_catalog, information_schema, pg_toast, pg_temp_*) in whole-catalog
listings: those hold hundreds of server-specific entries, so only the fixture's and the user's
schemas are compared (for functions: whether a few built-ins users complete are there).
"""

import os
import sys

sys.dont_write_bytecode = True  # keep compat/flows/ free of __pycache__
# This file is named pgcli.py: its directory goes to the end of the path, so that `import pgcli`
# finds the installed package and `import _flowlib` still finds the helpers.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE] + [HERE]

from _flowlib import Flow, requires, text  # noqa: E402

from pgcli.pgcompleter import PGCompleter  # noqa: E402
from pgcli.pgexecute import PGExecute  # noqa: E402
from pgspecial.main import PGSpecial  # noqa: E402
from prompt_toolkit.document import Document  # noqa: E402

# A user's local time zone, fixed so that every machine runs the same steps: pgcli sets the
# session's time zone to the local one whenever its name differs from the server's.
USER_TIME_ZONE = "Europe/Prague"
BUILTINS = ["count", "date_trunc", "length", "lower", "now", "sum", "to_char", "upper"]


def catalog_schema(name):
    return name in ("pg_catalog", "information_schema") or name.startswith(("pg_toast", "pg_temp"))


def main():
    flow = Flow()
    env = flow.env
    schema = env["schema"]
    q_schema = '"' + schema.replace('"', '""') + '"'
    user = env["user"]
    state = {}

    def norm(v):
        """A cell as text; the connected user's name (an owner; differs per server) as <user>."""
        v = text(v)
        return "<user>" if user and v == user else v

    def connect():
        # As `pgcli -h H -p P -U U -d D` with the password from the environment
        ex = PGExecute(env["dbname"], env["user"], env["password"], env["host"], env["port"],
                       sslmode=env["sslmode"])
        state["ex"] = ex
        return {"dbname_is_the_requested_one": ex.dbname == env["dbname"],
                "is_virtual_database": ex.is_virtual_database()}

    flow.step("connect", connect)

    def get_timezone():
        requires("ex" in state, "connect")
        return state["ex"].get_timezone()

    flow.step("startup.get_timezone", get_timezone)

    def set_timezone():
        requires("ex" in state, "connect")
        ex = state["ex"]
        ex.set_timezone(USER_TIME_ZONE)
        return ex.get_timezone()

    flow.step("startup.set_timezone", set_timezone)

    # ------------------------------------------------------------ completion refresh
    # CompletionRefresher._bg_refresh: a copy of the executor (a second connection), a fresh
    # PGCompleter fed by each refresher in turn.
    special = PGSpecial()
    completer = PGCompleter(smart_completion=True, pgspecial=special, settings={})

    def refresh_connect():
        requires("ex" in state, "connect")
        state["rx"] = state["ex"].copy()
        return True

    flow.step("refresh.connect", refresh_connect)

    def rx():
        requires("rx" in state, "refresh.connect")
        return state["rx"]

    def search_path():
        path = rx().search_path()
        completer.set_search_path(path)
        return path

    flow.step("refresh.search_path", search_path)

    def schemata():
        names = rx().schemata()
        completer.extend_schemata(names)
        return [n for n in names if not catalog_schema(n)]

    flow.step("refresh.schemata", schemata)

    def relations(kind):
        rows = list(rx().tables() if kind == "tables" else rx().views())
        completer.extend_relations(rows, kind=kind)
        return sorted([list(r) for r in rows if not catalog_schema(r[0])])

    def columns(kind):
        rows = list(rx().table_columns() if kind == "tables" else rx().view_columns())
        completer.extend_columns(rows, kind=kind)
        return [[text(v) for v in r] for r in rows if not catalog_schema(r[0])]

    flow.step("refresh.tables", lambda: relations("tables"))
    flow.step("refresh.table_columns", lambda: columns("tables"))

    def foreignkeys():
        rows = list(rx().foreignkeys())
        completer.extend_foreignkeys(rows)
        return sorted([list(r) for r in rows if not catalog_schema(r[0])])

    flow.step("refresh.foreignkeys", foreignkeys)
    flow.step("refresh.views", lambda: relations("views"))
    flow.step("refresh.view_columns", lambda: columns("views"))

    def datatypes():
        rows = list(rx().datatypes())
        completer.extend_datatypes(rows)
        return sorted([list(r) for r in rows if not catalog_schema(r[0])])

    flow.step("refresh.datatypes", datatypes)

    def databases():
        names = rx().databases()
        completer.extend_database_names(names)
        # the server's databases necessarily differ: only whether the connected one is listed
        return {"lists_the_connected_database": env["dbname"] in names}

    flow.step("refresh.databases", databases)

    def functions():
        rows = list(rx().functions())
        completer.extend_functions(rows)
        catalog = {r.func_name for r in rows if r.schema_name == "pg_catalog"}
        return {
            "user_functions": sorted([r.schema_name, r.func_name] for r in rows if not catalog_schema(r.schema_name)),
            "builtins_listed": {name: name in catalog for name in BUILTINS},
        }

    flow.step("refresh.functions", functions)

    def refresh_close():
        rx().conn.close()
        return True

    flow.step("refresh.close", refresh_close)

    # ------------------------------------------------------------ completions (what the user sees)
    def complete(sql, cursor=None):
        doc = Document(text=sql, cursor_position=len(sql) if cursor is None else cursor)
        return sorted({c.text for c in completer.get_completions(doc, None)})

    flow.step("complete.tables_in_schema", lambda: complete(f"SELECT * FROM {q_schema}."))
    flow.step("complete.columns", lambda: [
        c for c in complete(f"SELECT  FROM {q_schema}.orders", cursor=len("SELECT ")) if c.islower()])
    flow.step("complete.schemas", lambda: [c for c in complete("SELECT * FROM ") if c.startswith('"in.c-')])

    # ------------------------------------------------------------ special commands and queries
    def run(command):
        def go():
            requires("ex" in state, "connect")
            results = []
            for title, cur, headers, status, _sql, success, _special in state["ex"].run(command, pgspecial=special):
                rows = [[norm(v) for v in row] for row in cur] if cur is not None else None
                if rows and headers and "Owner" in headers:
                    # as the psql flow does: PostgreSQL's owner is the connected role or
                    # pg_database_owner, duckstore's its own role
                    at = headers.index("Owner")
                    rows = [r[:at] + ["<owner>"] + r[at + 1:] for r in rows]
                results.append({"title": norm(title) or None, "headers": headers, "rows": rows,
                                "status": norm(status), "success": success})
            return results
        return go

    commands = [
        ("run.dn", "\\dn"),
        ("run.dt_schema", f"\\dt {q_schema}.*"),
        ("run.dv_schema", f"\\dv {q_schema}.*"),
        ("run.di_schema", f"\\di {q_schema}.*"),
        ("run.df_schema", f"\\df {q_schema}.*"),
        ("run.d_orders", f"\\d {q_schema}.orders"),
        ("run.d_big_orders", f"\\d {q_schema}.big_orders"),
        ("run.dt", "\\dt"),
        ("run.select_customers", f"SELECT * FROM {q_schema}.customers ORDER BY id"),
        ("run.select_orders_tz", f"SELECT id, ordered_at, shipped_at FROM {q_schema}.orders ORDER BY id"),
    ]
    for name, command in commands:
        flow.step(name, run(command))

    def list_databases():
        requires("ex" in state, "connect")
        out = []
        for _title, cur, headers, status, _sql, success, _special in state["ex"].run("\\l", pgspecial=special):
            names = [row[0] for row in cur] if cur is not None else []
            # databases, owners, encodings and collations are the server's own: compare the headers
            # and whether the connected database is listed
            out.append({"headers": headers, "lists_the_connected_database": env["dbname"] in names,
                        "success": success})
        return out

    flow.step("run.l", list_databases)

    def close():
        requires("ex" in state, "connect")
        state["ex"].conn.close()
        return True

    flow.step("close", close)


if __name__ == "__main__":
    main()

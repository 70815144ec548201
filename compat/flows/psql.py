#!/usr/bin/env python3
"""psql (Debian's postgresql-client) as a user types it: the describe meta-commands, \\conninfo,
a query's aligned output and \\copy both ways. One psql process per step (connection settings
from the PG* environment), so a failing step cannot stop the next.

Each value is what psql prints. Describe output is read in unaligned mode with ASCII unit/record
separators (so multi-line cells such as access privileges stay in one cell) and reported as a list
of records (title, header, rows, footers), each a list of fields.

Normalised, because it necessarily differs between servers (and nothing else is):
- the "Owner" column of every listing -> "<owner>" (PostgreSQL's owner is the bootstrap superuser
  or pg_database_owner, duckstore's its own role), and that owner's name inside the same row's
  "Access privileges" cell;
- the connected database's name -> "<database>" and the connected user's name -> "<user>"
  (targets are reached under different database and user names), and in \\conninfo also the host
  and port.
Only the standard library is used, so any python3 runs it.
"""

import json
import os
import subprocess
import sys

TARGET = os.environ.get("COMPAT_TARGET", "postgres")
SCHEMA = os.environ.get("COMPAT_SCHEMA", "in.c-compat")
WORKDIR = os.environ.get("COMPAT_WORKDIR") or os.getcwd()
DB = os.environ.get("PGDATABASE", "")
USER = os.environ.get("PGUSER", "")
HOST = os.environ.get("PGHOST", "")
PORT = os.environ.get("PGPORT", "")
QS = '"' + SCHEMA.replace('"', '""') + '"'
TABLE = f"{QS}.psql_copy_{TARGET}"
US, RS = "\x1f", "\x1e"


def emit(step, ok, value=None, error=None):
    rec = {"step": step, "ok": ok}
    if ok:
        rec["value"] = value
    else:
        rec["error"] = error
    sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def psql(command, unaligned=True, tuples_only=False):
    args = ["psql", "-X", "-P", "pager=off", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]
    if unaligned:
        args += ["-A", "-F", US, "-R", RS]
    if tuples_only:
        args += ["-t"]
    args += ["-c", command]
    env = dict(os.environ, PGCONNECT_TIMEOUT="10", PGAPPNAME="compat-psql", PAGER="", PSQL_PAGER="")
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


def clean_error(stderr, rc):
    # Verbose errors end with a LOCATION line naming PostgreSQL's source file: not what differs.
    lines = [l for l in stderr.splitlines() if l.strip() and not l.startswith("LOCATION:")]
    return "\n".join(lines) or f"psql exited with status {rc}"


def failed(rc, stderr):
    return rc != 0 or any(l.startswith(("ERROR:", "FATAL:", "psql: error")) for l in stderr.splitlines())


def records(stdout):
    text = stdout[:-1] if stdout.endswith("\n") else stdout
    if not text:
        return []
    return [r.split(US) for r in text.split(RS)]


def normalise_listing(recs):
    """Owner column -> <owner>; the connected database and user names -> <database>/<user>."""
    if len(recs) < 2:
        return recs
    header = recs[1]
    width = len(header)
    out = [recs[0], header]
    owner_col = header.index("Owner") if "Owner" in header else None
    priv_col = header.index("Access privileges") if "Access privileges" in header else None
    name_col = header.index("Name") if "Name" in header else None
    role_col = header.index("Role name") if "Role name" in header else None
    in_rows = True
    for rec in recs[2:]:
        if not in_rows or len(rec) != width or width == 1:
            in_rows = False
            out.append(rec)
            continue
        rec = list(rec)
        owner = rec[owner_col] if owner_col is not None else None
        if priv_col is not None and rec[priv_col]:
            cell = rec[priv_col]
            for name in filter(None, {owner, USER}):
                cell = "\n".join(
                    "/".join("=".join(_swap(p, name) for p in part.split("=")) for part in line.split("/"))
                    for line in cell.split("\n"))
            rec[priv_col] = cell
        if owner_col is not None:
            rec[owner_col] = "<owner>"
        if header[0] == "Name" and header[1:2] == ["Owner"] and name_col is not None and rec[name_col] == DB:
            rec[name_col] = "<database>"  # \l
        if role_col is not None and rec[role_col] == USER:
            rec[role_col] = "<user>"
        out.append(rec)
    return out


def _swap(part, name):
    return "<owner>" if part == name else part


def meta(step, command):
    try:
        rc, out, err = psql(command)
    except Exception as e:  # psql missing or hung: the step failed
        emit(step, False, error=f"{type(e).__name__}: {e}")
        return
    if failed(rc, err):
        emit(step, False, error=clean_error(err, rc))
        return
    value = normalise_listing(records(out))
    if err.strip():
        value = {"output": value, "stderr": err.strip()}
    emit(step, True, value)


def text_step(step, command, transform=lambda s: s, unaligned=False):
    try:
        rc, out, err = psql(command, unaligned=unaligned)
    except Exception as e:
        emit(step, False, error=f"{type(e).__name__}: {e}")
        return None
    if failed(rc, err):
        emit(step, False, error=clean_error(err, rc))
        return None
    value = transform(out)
    if err.strip():
        value = {"output": value, "stderr": err.strip()}
    emit(step, True, value)
    return value


def conninfo(out):
    # Database, user, host and port are the target's, not the server's behaviour.
    return (out.replace(f'database "{DB}"', 'database "<database>"')
               .replace(f'user "{USER}"', 'user "<user>"')
               .replace(f'host "{HOST}"', 'host "<host>"')
               .replace(f'port "{PORT}"', 'port "<port>"').strip())


def main():
    meta("meta.l", r"\l")
    meta("meta.dn", r"\dn")
    meta("meta.dt", rf"\dt {QS}.*")
    meta("meta.d", rf"\d {QS}.orders")
    meta("meta.d+", rf"\d+ {QS}.orders")
    meta("meta.d_view", rf"\d {QS}.big_orders")
    meta("meta.dv", rf"\dv {QS}.*")
    meta("meta.df", r"\df")
    meta("meta.du", r"\du")
    meta("meta.di", rf"\di {QS}.*")
    meta("meta.dT", r"\dT")
    text_step("meta.conninfo", r"\conninfo", conninfo)

    # What a user sees for a plain query in psql's default (aligned) format.
    text_step("query.orders_aligned", f"SELECT * FROM {QS}.orders ORDER BY id", lambda s: s.splitlines())
    text_step("query.customers_aligned", f"SELECT * FROM {QS}.customers ORDER BY id", lambda s: s.splitlines())

    # \copy to a file from a query; the value is psql's output and the file's content.
    out_path = os.path.join(WORKDIR, "psql-copy-out.csv")
    res = text_step_copy_to(out_path)

    # \copy from a CSV file into a table named after the target; read back; drop.
    in_path = os.path.join(WORKDIR, "psql-copy-in.csv")
    with open(in_path, "w") as f:
        f.write("id,name,amount,happened_at,flag\n"
                "1,plain,1.50,2024-01-02 03:04:05,true\n"
                "2,\"with, comma\",-0.25,2024-02-29 23:59:59,false\n"
                "3,\"quote \"\"q\"\"\",,,\n"
                "4,,1234567.89,1999-12-31 00:00:00,t\n")
    psql(f"DROP TABLE IF EXISTS {TABLE}")  # leftovers of an aborted run; not a step
    text_step("copy.create_table",
              f"CREATE TABLE {TABLE} (id INTEGER, name TEXT, amount NUMERIC(12,2), happened_at TIMESTAMP, flag BOOLEAN)",
              lambda s: s.strip())
    text_step("copy.from_file", rf"\copy {TABLE} FROM '{in_path}' WITH (FORMAT csv, HEADER)", lambda s: s.strip())
    text_step("copy.read_back", f"SELECT * FROM {TABLE} ORDER BY id", lambda s: s.splitlines())
    text_step("copy.drop_table", f"DROP TABLE {TABLE}", lambda s: s.strip())
    return 0


def text_step_copy_to(path):
    step = "copy.to_file"
    cmd = (rf"\copy (SELECT id, customer_id, amount, quantity, discount, weight, note, ordered_at "
           rf"FROM {QS}.orders ORDER BY id) TO '{path}' WITH (FORMAT csv, HEADER)")
    try:
        rc, out, err = psql(cmd, unaligned=False)
    except Exception as e:
        emit(step, False, error=f"{type(e).__name__}: {e}")
        return
    if failed(rc, err):
        emit(step, False, error=clean_error(err, rc))
        return
    try:
        with open(path) as f:
            content = f.read().splitlines()
    except OSError as e:
        emit(step, False, error=f"psql said {out.strip()!r} but the file is unreadable: {e}")
        return
    value = {"output": out.strip(), "file": content}
    if err.strip():
        value["stderr"] = err.strip()
    emit(step, True, value)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Crash test: kill the server with SIGKILL in the middle of writes, restart, and check that
nothing committed was lost and nothing half-done shows.

    scripts/crash-test.py [--kills 50] [--binary target/debug/duckstore] [--seed N]

Each round starts the server on the same data directory, runs writers of every kind at once
(single-row INSERTs, COPY batches, full-load imports, ALTER TABLE, snapshot restores, writes in a
dev branch, transaction blocks over two tables that also create and drop a table), kills the server at a random moment, restarts it and checks:

- every table the catalog lists can be read;
- every acknowledged write is there (INSERTed ids, COPY batches, the last import's generation);
- nothing is half there: a COPY batch is all there or absent, an import's generation whole;
- the schema-change table has its rows and one of its two column sets;
- the restored table has one of its two known states;
- the default branch never sees the dev branch's writes;
- a transaction block is all there or absent: both tables it writes hold the same ids, every
  acknowledged COMMIT is there, nothing of a rolled-back one, and exactly one table it creates
  (dropping the previous one) exists, whole;
- no orphan files: every file under tables/ belongs to a table version or a kept version.

Needs Debian's python3-psycopg. Exits 1 on the first violation, printing it.
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psycopg

ADMIN = "crash-admin-token-0123456789abcdef"
COPY_ROWS = 5000
IMPORT_ROWS = 20000
SNAP_STATES = {100, 250}


class Server:
    def __init__(self, binary, data_dir):
        self.binary, self.data_dir = binary, data_dir
        self.proc = None

    def start(self):
        env = dict(os.environ, DUCKSTORE_ADMIN_TOKEN=ADMIN, DUCKSTORE_LOG_FORMAT="json", DUCKSTORE_LOG="info")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir, "--pg-addr", "127.0.0.1:0",
             "--http-addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        deadline = time.time() + 60
        for line in self.proc.stdout:
            if '"duckstore is up"' in line:
                up = json.loads(line)
                self.pg_port = int(up["pg_addr"].rsplit(":", 1)[1])
                self.http = "http://" + up["http_addr"]
                break
            if time.time() > deadline:
                raise SystemExit("server did not come up")
        else:
            raise SystemExit("server exited at start")
        # keep draining the log so the server never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def connect(self, user, password, dbname="main"):
        return psycopg.connect(host="127.0.0.1", port=self.pg_port, user=user, password=password,
                               dbname=dbname, autocommit=True, connect_timeout=10)


def setup(server):
    with server.connect("admin", ADMIN) as admin:
        cur = admin.execute("CALL create_project(name => 'crash')")
        cols = [d.name for d in cur.description]
        row = cur.fetchone()
    user, token = row[cols.index("user_name")], row[cols.index("token")]
    with server.connect(user, token) as c:
        c.execute('CREATE SCHEMA "in.c-crash"')
        c.execute('CREATE TABLE "in.c-crash"."ledger" (id BIGINT NOT NULL, v STRING, PRIMARY KEY (id))')
        c.execute('CREATE TABLE "in.c-crash"."bulk" (batch BIGINT, n BIGINT, v STRING)')
        c.execute('CREATE TABLE "in.c-crash"."imports" (generation BIGINT, n BIGINT)')
        c.execute('CREATE TABLE "in.c-crash"."shape" (id BIGINT, v STRING)')
        c.execute('INSERT INTO "in.c-crash"."shape" SELECT range, \'x\' FROM range(1000)')
        c.execute('CREATE TABLE "in.c-crash"."snap" (id BIGINT)')
        c.execute('INSERT INTO "in.c-crash"."snap" SELECT range FROM range(100)')
        small = c.execute("CALL create_snapshot(table => 'in.c-crash.snap')").fetchone()[0]
        c.execute('INSERT INTO "in.c-crash"."snap" SELECT range FROM range(100, 250)')
        big = c.execute("CALL create_snapshot(table => 'in.c-crash.snap')").fetchone()[0]
        c.execute('CREATE TABLE "in.c-crash"."branched" (id BIGINT)')
        c.execute('INSERT INTO "in.c-crash"."branched" SELECT range FROM range(10)')
        branch = c.execute("CALL create_branch(name => 'dev')").fetchone()[0]
        c.execute('CREATE TABLE "in.c-crash"."tx_a" (k BIGINT)')
        c.execute('CREATE TABLE "in.c-crash"."tx_b" (k BIGINT, v STRING)')
        c.execute('CREATE TABLE "in.c-crash"."made_0" (k BIGINT)')
        c.execute('INSERT INTO "in.c-crash"."made_0" VALUES (0)')
    return {"user": user, "token": token, "snapshots": [small, big], "branch": branch,
            "ledger": [], "batches": [], "generation": 0, "branch_rows": 10, "tx": 0}


def upload(server, token, body):
    request = urllib.request.Request(server.http + "/v1/files?name=gen.csv", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())["id"]


def workers(server, state, stop, rng):
    """Writers of every kind; each records what the server acknowledged."""
    acked = {"ledger": [], "batches": [], "generation": None, "branch_rows": None, "alters": 0, "restores": 0,
             "tx": None, "errors": []}
    lock = threading.Lock()
    user, token = state["user"], state["token"]

    def guard(fn):
        def run():
            try:
                fn()
            except (psycopg.OperationalError, OSError, urllib.error.URLError):
                pass  # the kill; anything acknowledged before it is recorded
            except psycopg.Error as e:
                if not stop.is_set() and e.sqlstate not in (None, "57P01", "57P03", "08006"):
                    with lock:
                        acked["errors"].append(f"{fn.__name__}: {e.sqlstate} {e}")
        return threading.Thread(target=run, daemon=True)

    def ledger_from(lane):
        # Two writers: each in its own lane of million-id blocks, so they never pick the same id.
        with server.connect(user, token) as c:
            next_id = max(state["ledger"], default=0) + 1 + (rng.randrange(500) * 2 + lane) * 1_000_000
            while not stop.is_set():
                c.execute('INSERT INTO "in.c-crash"."ledger" VALUES (%s, %s)', (next_id, "v"))
                with lock:
                    acked["ledger"].append(next_id)
                next_id += 1

    def ledger():
        ledger_from(0)

    def ledger_again():
        ledger_from(1)

    def copies():
        with server.connect(user, token) as c:
            batch = max(state["batches"], default=0) + 1 + rng.randrange(1000) * 1_000_000
            while not stop.is_set():
                with c.cursor().copy('COPY "in.c-crash"."bulk" FROM STDIN (FORMAT csv)') as cp:
                    for n in range(COPY_ROWS):
                        cp.write(f"{batch},{n},row {n}\n")
                with lock:
                    acked["batches"].append(batch)
                batch += 1

    def imports():
        with server.connect(user, token) as c:
            generation = state["generation"] + 1
            while not stop.is_set():
                body = "generation,n\n" + "".join(f"{generation},{n}\n" for n in range(IMPORT_ROWS))
                file_id = upload(server, token, body.encode())
                c.execute("CALL import_table(table => 'in.c-crash.imports', file_id => %s)", (file_id,))
                with lock:
                    acked["generation"] = generation
                generation += 1

    def shapes():
        with server.connect(user, token) as c:
            while not stop.is_set():
                c.execute('ALTER TABLE "in.c-crash"."shape" ADD COLUMN IF NOT EXISTS extra STRING DEFAULT \'e\'')
                c.execute('ALTER TABLE "in.c-crash"."shape" DROP COLUMN IF EXISTS extra')
                with lock:
                    acked["alters"] += 2

    def restores():
        with server.connect(user, token) as c:
            while not stop.is_set():
                for snapshot in state["snapshots"]:
                    c.execute("CALL restore_snapshot(id => %s)", (snapshot,))
                    with lock:
                        acked["restores"] += 1

    def branch_writes():
        with server.connect(user, token, dbname="dev") as c:
            rows = state["branch_rows"]
            while not stop.is_set():
                c.execute('INSERT INTO "in.c-crash"."branched" VALUES (-1)')
                rows += 1
                with lock:
                    acked["branch_rows"] = rows

    def transactions():
        # Each COMMIT writes k into two tables, renames tx_b's second column (v for an even k,
        # w for an odd one) and replaces made_<k-1> by made_<k> holding k, altered to (k, note);
        # every other block is rolled back after adding a column to tx_a and writing -k.
        with server.connect(user, token) as c:
            k = state["tx"] + 1
            while not stop.is_set():
                with c.transaction():
                    c.execute('INSERT INTO "in.c-crash"."tx_a" VALUES (%s)', (k,))
                    c.execute('INSERT INTO "in.c-crash"."tx_b" VALUES (%s, %s)', (k, "v"))
                    c.execute(f'DROP TABLE "in.c-crash"."made_{k - 1}"')
                    c.execute(f'CREATE TABLE "in.c-crash"."made_{k}" (k BIGINT)')
                    c.execute(f'INSERT INTO "in.c-crash"."made_{k}" VALUES (%s)', (k,))
                    c.execute(f'ALTER TABLE "in.c-crash"."made_{k}" ADD COLUMN note STRING')
                    old, new = ("v", "w") if k % 2 else ("w", "v")
                    c.execute(f'ALTER TABLE "in.c-crash"."tx_b" RENAME COLUMN {old} TO {new}')
                with lock:
                    acked["tx"] = k
                c.execute("BEGIN")
                c.execute('ALTER TABLE "in.c-crash"."tx_a" ADD COLUMN junk BIGINT')
                c.execute('INSERT INTO "in.c-crash"."tx_a" VALUES (%s)', (-k,))
                c.execute('DELETE FROM "in.c-crash"."tx_b"')
                c.execute("ROLLBACK")
                k += 1

    threads = [guard(f) for f in (ledger, ledger_again, copies, imports, shapes, restores, branch_writes,
                                  transactions)]
    for t in threads:
        t.start()
    return threads, acked, lock


def fail(round_no, message):
    print(f"round {round_no}: VIOLATION: {message}", flush=True)
    sys.exit(1)


def check(server, state, round_no):
    user, token = state["user"], state["token"]
    with server.connect(user, token) as c:
        for (table,) in c.execute("SELECT id FROM duckstore.tables").fetchall():
            bucket, name = table.rsplit(".", 1)
            c.execute(f'SELECT count(*) FROM "{bucket}"."{name}"').fetchone()
        present = {r[0] for r in c.execute('SELECT id FROM "in.c-crash"."ledger"').fetchall()}
        missing = [i for i in state["ledger"] if i not in present]
        if missing:
            fail(round_no, f"{len(missing)} acknowledged INSERTs lost, e.g. {missing[:3]}")
        batches = dict(c.execute('SELECT batch, count(*) FROM "in.c-crash"."bulk" GROUP BY batch').fetchall())
        partial = {b: n for b, n in batches.items() if n != COPY_ROWS}
        if partial:
            fail(round_no, f"COPY batches partly there: {partial}")
        lost = [b for b in state["batches"] if b not in batches]
        if lost:
            fail(round_no, f"acknowledged COPY batches lost: {lost[:3]}")
        generations = c.execute('SELECT generation, count(*) FROM "in.c-crash"."imports" GROUP BY ALL').fetchall()
        if state["generation"] and (len(generations) != 1 or generations[0][1] != IMPORT_ROWS
                                    or generations[0][0] < state["generation"]):
            fail(round_no, f"import state {generations}, last acknowledged generation {state['generation']}")
        shape_rows = c.execute('SELECT count(*) FROM "in.c-crash"."shape"').fetchone()[0]
        shape_cols = [r[0] for r in c.execute(
            "SELECT name FROM duckstore.columns WHERE table_id = 'in.c-crash.shape' ORDER BY 1").fetchall()]
        if shape_rows != 1000 or shape_cols not in (["id", "v"], ["extra", "id", "v"]):
            fail(round_no, f"shape table: {shape_rows} rows, columns {shape_cols}")
        snap = c.execute('SELECT count(*) FROM "in.c-crash"."snap"').fetchone()[0]
        if snap not in SNAP_STATES:
            fail(round_no, f"restored table has {snap} rows, not one of {SNAP_STATES}")
        tx_a = sorted(r[0] for r in c.execute('SELECT k FROM "in.c-crash"."tx_a"').fetchall())
        tx_b = sorted(r[0] for r in c.execute('SELECT k FROM "in.c-crash"."tx_b"').fetchall())
        if tx_a != tx_b:
            fail(round_no, f"a transaction block is half there: tx_a {tx_a[-3:]}, tx_b {tx_b[-3:]}")
        if any(k < 0 for k in tx_a):
            fail(round_no, "a rolled-back transaction block's write is there")
        if tx_a != list(range(1, len(tx_a) + 1)) or len(tx_a) < state["tx"]:
            fail(round_no, f"committed blocks {len(tx_a)}, acknowledged {state['tx']}: {tx_a[-3:]}")
        made = [r[0] for r in c.execute(
            "SELECT id FROM duckstore.tables WHERE id LIKE 'in.c-crash.made%'").fetchall()]
        if made != [f"in.c-crash.made_{len(tx_a)}"]:
            fail(round_no, f"tables a transaction created and dropped: {made}, after {len(tx_a)} commits")
        made_rows = c.execute(f'SELECT * FROM "in.c-crash"."made_{len(tx_a)}"').fetchall()
        if made_rows != [(len(tx_a), None)] and not (len(tx_a) == 0 and made_rows == [(0,)]):
            fail(round_no, f"a table created and altered in a transaction holds {made_rows}")
        columns = {t: [r[0] for r in c.execute(
            "SELECT name FROM duckstore.columns WHERE table_id = %s ORDER BY position", (f"in.c-crash.{t}",))]
            for t in ("tx_a", "tx_b")}
        expected = {"tx_a": ["k"], "tx_b": ["k", "w" if len(tx_a) % 2 else "v"]}
        if columns != expected:
            fail(round_no, f"schemas after {len(tx_a)} commits: {columns}, expected {expected}")
        state["tx"] = len(tx_a)
        main_branched = c.execute('SELECT count(*) FROM "in.c-crash"."branched"').fetchone()[0]
        if main_branched != 10:
            fail(round_no, f"the default branch sees {main_branched} rows of a table only the dev branch wrote")
    with server.connect(user, token, dbname="dev") as c:
        rows = c.execute('SELECT count(*) FROM "in.c-crash"."branched"').fetchone()[0]
        if rows < state["branch_rows"]:
            fail(round_no, f"dev branch lost acknowledged rows: {rows} < {state['branch_rows']}")
        state["branch_rows"] = rows
    check_files(server.data_dir, round_no)


def check_files(data_dir, round_no):
    catalog = sqlite3.connect(f"file:{data_dir}/catalog.sqlite?mode=ro", uri=True)
    referenced = set()
    for project, branch, table, version in catalog.execute(
            "SELECT b.project_id, b.branch_id, t.id, t.version FROM tables t JOIN buckets b ON b.id = t.bucket_id"):
        referenced.add(f"{project}/{branch}/t{table}/v{version}.duckdb")
    for project, branch, table, version in catalog.execute(
            "SELECT project_id, branch_id, table_id, version FROM snapshots"):
        referenced.add(f"{project}/{branch}/t{table}/v{version}.duckdb")
    catalog.close()
    root = os.path.join(data_dir, "tables")
    orphans = []
    for folder, _, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(folder, f), root)
            if rel.endswith(".wal"):
                rel = rel[:-4]
            if rel not in referenced:
                orphans.append(rel)
    if orphans:
        fail(round_no, f"orphan files under tables/: {orphans[:5]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--binary", default="target/debug/duckstore")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--data-dir", help="keep the data here (default: a temporary directory)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="duckstore-crash-")
    server = Server(os.path.abspath(args.binary), data_dir)
    print(f"crash test: {args.kills} kills, seed {args.seed}, data in {data_dir}", flush=True)
    server.start()
    state = setup(server)
    totals = {"inserts": 0, "copies": 0, "imports": 0, "alters": 0, "restores": 0, "branch": 0,
              "transactions": 0, "errors": 0}
    for round_no in range(1, args.kills + 1):
        stop = threading.Event()
        threads, acked, lock = workers(server, state, stop, rng)
        time.sleep(rng.uniform(0.2, 2.5))
        server.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        with lock:
            state["ledger"] += acked["ledger"]
            state["batches"] += acked["batches"]
            totals["inserts"] += len(acked["ledger"])
            totals["copies"] += len(acked["batches"])
            if acked["generation"] is not None:
                state["generation"] = acked["generation"]
                totals["imports"] += 1
            if acked["branch_rows"] is not None:
                totals["branch"] += acked["branch_rows"] - state["branch_rows"]
                state["branch_rows"] = max(state["branch_rows"], acked["branch_rows"])
            if acked["tx"] is not None:
                totals["transactions"] += acked["tx"] - state["tx"]
                state["tx"] = max(state["tx"], acked["tx"])
            totals["alters"] += acked["alters"]
            totals["restores"] += acked["restores"]
            totals["errors"] += len(acked["errors"])
            for e in acked["errors"]:
                print(f"round {round_no}: unexpected error: {e}", flush=True)
        server.start()
        check(server, state, round_no)
        print(f"round {round_no}: ok; acknowledged so far: " + ", ".join(f"{k} {v}" for k, v in totals.items()),
              flush=True)
    server.stop()
    if totals["errors"]:
        print(f"crash test FAILED: {totals['errors']} unexpected errors", flush=True)
        sys.exit(1)
    print(f"crash test passed: {args.kills} SIGKILLs, every check held; acknowledged: "
          + ", ".join(f"{k} {v}" for k, v in totals.items() if k != "errors"), flush=True)


if __name__ == "__main__":
    main()

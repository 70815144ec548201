#!/usr/bin/python3
"""Soak test: a bounded mixed load from many clients for a long time, watching the server.

    scripts/soak.py [--clients 32] [--minutes 20] [--binary target/release/duckstore]

Clients loop over uploads and full-load imports (which keep the tables bounded), COPY in and out, SELECTs, DML, workspace sessions
(load, transform, unload) and dev-branch operations (create, write, drop). The server's
resident memory, open file descriptors and sessions are sampled every five seconds. At the end:

- no errors other than expected conflicts (a write racing a branch drop, a name taken);
- memory reaches a plateau: besides DuckDB's buffer pool (bounded by --memory-limit), the peak
  of the last quarter is within 15% of the peak of the second quarter;
- file descriptors and sessions do not grow: after the clients stop they are back near where
  they were after warm-up.

Needs Debian's python3-psycopg. Exits 1 when a check fails.
"""

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psycopg

ADMIN = "soak-admin-token-0123456789abcdef"
EXPECTED = {"40001", "55000", "42P07", "42P06", "57P01", "23505", "53300", "42704", "3D000", "42P01", "3F000"}


class Server:
    def __init__(self, binary, data_dir):
        env = dict(os.environ, DUCKSTORE_ADMIN_TOKEN=ADMIN, DUCKSTORE_LOG_FORMAT="json", DUCKSTORE_LOG="warn,duckstore::server=info")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", data_dir, "--pg-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
             "--memory-limit", "1GB"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        for line in self.proc.stdout:
            if '"duckstore is up"' in line:
                up = json.loads(line)
                self.port = int(up["pg_addr"].rsplit(":", 1)[1])
                self.http = "http://" + up["http_addr"]
                break
        else:
            raise SystemExit("server exited at start")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def connect(self, user, password, dbname="main"):
        return psycopg.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname,
                               autocommit=True, connect_timeout=30)

    def sample(self):
        pid = self.proc.pid
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) * 1024
        fds, table_fds = 0, 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            fds += 1
            try:
                table_fds += "/tables/" in os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                pass
        with urllib.request.urlopen(self.http + "/metrics", timeout=10) as r:
            metrics = r.read().decode()
        def metric(name):
            return sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith(name + " ") or l.startswith(name + "{"))
        sessions = metric("duckstore_connections")
        # DuckDB's buffer pool caches table blocks up to --memory-limit by design: the plateau
        # that matters is the memory besides it
        self.duckdb_bytes = metric("duckstore_duckdb_memory_bytes")
        # table files stay attached (an LRU of 256, design.md R2) whether or not in use: they
        # are counted apart from the rest
        return rss, fds - table_fds, table_fds, sessions

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)


def csv_body(n, seed):
    return ("id,name,amount\n" + "".join(f"{seed * 1_000_000 + i},name {i},{i * 0.5}\n" for i in range(n))).encode()


def upload(server, token, body):
    request = urllib.request.Request(server.http + "/v1/files?name=soak.csv", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.loads(r.read())["id"]


def client(server, project, no, deadline, counts, errors, lock):
    rng = random.Random(no)
    user, token = project["user"], project["token"]
    table = f'"in.c-soak"."t{no % 8}"'
    table_id = f"in.c-soak.t{no % 8}"

    def record(kind, e=None):
        with lock:
            if e is None:
                counts[kind] += 1
            elif getattr(e, "sqlstate", None) in EXPECTED:
                counts["expected conflicts"] += 1
            else:
                errors.append(f"client {no} {kind}: {getattr(e, 'sqlstate', None)} {e}")

    with server.connect(user, token) as c:
        while time.time() < deadline:
            op = rng.choice(["select", "select", "select", "insert", "copy_in", "copy_out", "import", "workspace",
                             "branch", "upload"])
            try:
                if op == "select":
                    c.execute(f"SELECT count(*), sum(amount), max(name) FROM {table} WHERE id %% 7 = %s", (rng.randrange(7),)).fetchall()
                elif op == "insert":
                    c.execute(f"INSERT INTO {table} VALUES (%s, 'ins', 1.5)", (rng.randrange(10**12),))
                elif op == "copy_in":
                    with c.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv)") as cp:
                        base = rng.randrange(10**12)
                        for i in range(2000):
                            cp.write(f"{base + i},copy,{i}\n")
                elif op == "copy_out":
                    with c.cursor().copy(f"COPY (SELECT * FROM {table} LIMIT 5000) TO STDOUT (FORMAT csv)") as cp:
                        for _ in cp:
                            pass
                elif op == "import":
                    file_id = upload(server, token, csv_body(5000, rng.randrange(1000)))
                    c.execute("CALL import_table(table => %s, file_id => %s)", (table_id, file_id))
                elif op == "upload":
                    file_id = upload(server, token, csv_body(1000, 1))
                    req = urllib.request.Request(f"{server.http}/v1/files/{file_id}", method="DELETE",
                                                 headers={"Authorization": "Bearer " + token})
                    urllib.request.urlopen(req, timeout=30).read()
                elif op == "workspace":
                    ws = c.execute("CALL create_workspace(name => %s)", (f"w{no}-{rng.randrange(10**9)}",)).fetchone()
                    wid, wuser, wpass = ws[0], ws[5], ws[6]
                    c.execute("CALL load_workspace(workspace => %s, source => %s, destination => 'src', limit => 20000)", (wid, table_id))
                    with server.connect(wuser, wpass, wuser) as w:
                        w.execute("CREATE TABLE agg AS SELECT name, count(*) AS n, sum(amount) AS total FROM src GROUP BY ALL")
                        w.execute("SELECT * FROM agg ORDER BY n DESC LIMIT 10").fetchall()
                    c.execute("CALL unload_workspace(workspace => %s, object => 'agg', table => %s)", (wid, f"out.c-soak.agg{no}"))
                    c.execute("CALL drop_workspace(id => %s)", (wid,))
                elif op == "branch":
                    name = f"b{no}-{rng.randrange(10**9)}"
                    bid = c.execute("CALL create_branch(name => %s)", (name,)).fetchone()[0]
                    with server.connect(user, token, name) as b:
                        b.execute(f"INSERT INTO {table} VALUES (-1, 'branch', 0)")
                        b.execute(f"SELECT count(*) FROM {table}").fetchone()
                    c.execute("CALL drop_branch(id => %s)", (bid,))
                record(op)
            except psycopg.OperationalError as e:
                record(op, e)
                return
            except (psycopg.Error, OSError) as e:
                record(op, e)
            time.sleep(rng.uniform(0.0, 0.05))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--binary", default="target/release/duckstore")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="duckstore-soak-")
    server = Server(os.path.abspath(args.binary), data_dir)
    with server.connect("admin", ADMIN) as admin:
        cur = admin.execute("CALL create_project(name => 'soak')")
        cols = [d.name for d in cur.description]
        row = cur.fetchone()
    project = {"user": row[cols.index("user_name")], "token": row[cols.index("token")]}
    with server.connect(project["user"], project["token"]) as c:
        c.execute('CREATE SCHEMA "in.c-soak"')
        c.execute('CREATE SCHEMA "out.c-soak"')
        for i in range(8):
            c.execute(f'CREATE TABLE "in.c-soak"."t{i}" (id BIGINT, name STRING, amount DOUBLE)')
            c.execute(f'INSERT INTO "in.c-soak"."t{i}" SELECT range, \'name \' || (range % 100), range * 0.5 FROM range(50000)')

    print(f"soak: {args.clients} clients for {args.minutes} minutes, data in {data_dir}", flush=True)
    started = time.time()
    deadline = started + args.minutes * 60
    counts, errors, lock = collections.Counter(), [], threading.Lock()
    threads = [threading.Thread(target=client, args=(server, project, i, deadline, counts, errors, lock), daemon=True)
               for i in range(args.clients)]
    for t in threads:
        t.start()
    samples = []
    while any(t.is_alive() for t in threads):
        rss, fds, table_fds, sessions = server.sample()
        samples.append((time.time() - started, rss - server.duckdb_bytes, fds, sessions))
        with lock:
            done = sum(v for k, v in counts.items() if k != "expected conflicts")
        print(f"{samples[-1][0]:7.0f}s rss {rss / 2**20:7.0f} MiB (DuckDB buffers {server.duckdb_bytes / 2**20:5.0f})  fds {fds:5d} + {table_fds:3d} table files  sessions {sessions:4.0f}  "
              f"operations {done}  errors {len(errors)}", flush=True)
        time.sleep(5)
    time.sleep(5)
    idle_rss, idle_fds, idle_table_fds, idle_sessions = server.sample()
    kinds = collections.Counter()
    for fd in os.listdir(f"/proc/{server.proc.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{server.proc.pid}/fd/{fd}")
        except OSError:
            continue
        rel = target.replace(data_dir, "<data>")
        kinds[rel.split("/")[1] if rel.startswith("<data>/") else rel.split(":")[0] + (" (deleted)" if "(deleted)" in rel else "")] += 1
    print("open files when idle: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    server.stop()

    n = len(samples)
    second_quarter = max(s[1] for s in samples[n // 4: n // 2] or samples)
    last_quarter = max(s[1] for s in samples[3 * n // 4:] or samples)
    warm_fds = samples[min(n - 1, n // 4)][2]
    failures = []
    if errors:
        failures.append(f"{len(errors)} unexpected errors, e.g. {errors[:5]}")
    if last_quarter > second_quarter * 1.15:
        failures.append(f"memory besides DuckDB's buffers grows: peak {second_quarter / 2**20:.0f} MiB in the second quarter, "
                        f"{last_quarter / 2**20:.0f} MiB in the last")
    if idle_fds > warm_fds + 16:
        failures.append(f"file descriptors grow: {warm_fds} after warm-up, {idle_fds} when idle")
    if idle_table_fds > 2 * 256 + 16:
        failures.append(f"{idle_table_fds} table files open: more than the attach cache holds")
    if idle_sessions > 1:
        failures.append(f"{idle_sessions:.0f} sessions left open after the clients stopped")
    print("operations: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"memory besides DuckDB's buffers, peak: second quarter {second_quarter / 2**20:.0f} MiB, last quarter {last_quarter / 2**20:.0f} MiB, "
          f"idle {idle_rss / 2**20:.0f} MiB; fds (besides table files) after warm-up {warm_fds}, idle {idle_fds}; "
          f"table files open when idle {idle_table_fds}; sessions idle {idle_sessions:.0f}")
    if failures:
        for f in failures:
            print("SOAK FAILED: " + f)
        sys.exit(1)
    print(f"soak passed: {sum(counts.values())} operations from {args.clients} clients in {args.minutes} minutes")


if __name__ == "__main__":
    main()

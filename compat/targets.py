"""The three targets the scoreboard compares: a throwaway PostgreSQL 15, a duckstore storage session
and a duckstore workspace session, each holding compat/fixture.sql in schema "in.c-compat".

Used by run.py; `python3 compat/targets.py` starts them and prints their connection settings (as
the environment a flow receives) until interrupted, for writing flows and corpus entries.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCHEMA = "in.c-compat"
PG_BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fixture_sql():
    with open(os.path.join(HERE, "fixture.sql")) as f:
        text = f.read()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    text = text.replace("{schema}", '"' + SCHEMA + '"')
    return [s.strip() for s in text.split(";") if s.strip()]


class Target:
    """Where a flow or a corpus statement runs: connection settings and a name."""

    def __init__(self, name, host, port, user, password, dbname):
        self.name, self.host, self.port = name, host, port
        self.user, self.password, self.dbname = user, password, dbname

    def env(self):
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
            "PGSSLMODE": "disable",
            "COMPAT_TARGET": self.name,
            "COMPAT_SCHEMA": SCHEMA,
        }

    def connect(self, **kwargs):
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, password=self.password,
            dbname=self.dbname, sslmode="disable", connect_timeout=10, **kwargs,
        )


class Postgres:
    """Debian's PostgreSQL 15 in a temp dir (as user postgres when run as root)."""

    def __init__(self, workdir):
        self.bin = next((d for d in PG_BIN_DIRS if os.path.exists(os.path.join(d, "initdb"))), None)
        if self.bin is None:
            raise SystemExit("PostgreSQL 15 is not installed (Debian package postgresql-15; scripts/test-deps.sh installs it)")
        self.dir = os.path.join(workdir, "pg")
        os.makedirs(self.dir)
        self.as_postgres = os.geteuid() == 0
        self.port = free_port()
        self.password = "compat-password"
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password)
        if self.as_postgres:
            subprocess.run(["chown", "-R", "postgres:postgres", self.dir], check=True)
        self.data = os.path.join(self.dir, "data")
        self._run("initdb", "-D", self.data, "-U", "compat", "--pwfile", pwfile, "--auth=scram-sha-256",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                "-c fsync=off -c TimeZone=UTC -c log_statement=all -c log_min_messages=warning")
        self._run("pg_ctl", "-D", self.data, "-o", opts, "-w", "-l", os.path.join(self.dir, "log"), "start")
        self.target = Target("postgres", "127.0.0.1", self.port, "compat", self.password, "compat")
        admin = Target("postgres", "127.0.0.1", self.port, "compat", self.password, "postgres")
        with admin.connect(autocommit=True) as c:
            c.execute("CREATE DATABASE compat")

    def log_path(self):
        return os.path.join(self.dir, "log")

    def _run(self, program, *args):
        cmd = [os.path.join(self.bin, program), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{program} failed: {done.stdout}")

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass


class Duckstore:
    """The duckstore binary (DUCKSTORE_BIN) on free ports with a fresh data dir."""

    def __init__(self, workdir, binary):
        self.data = os.path.join(workdir, "duckstore")
        self.pg_port, self.http_port = free_port(), free_port()
        self.admin_token = "compat-admin-token-0123456789abcdef"
        self.log = open(os.path.join(workdir, "duckstore.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", self.data, "--pg-addr", f"127.0.0.1:{self.pg_port}",
             "--http-addr", f"127.0.0.1:{self.http_port}", "--admin-token", self.admin_token,
             "--log-format", "json", "--threads", "2"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        admin = Target("storage", "127.0.0.1", self.pg_port, "admin", self.admin_token, "main")
        deadline = time.time() + 60
        while True:
            try:
                conn = admin.connect(autocommit=True)
                break
            except psycopg.OperationalError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise SystemExit(f"duckstore did not start; see {self.log.name}")
                time.sleep(0.2)
        with conn:
            row = conn.execute("CALL create_project(name => 'compat')").fetchone()
            cols = [d.name for d in conn.execute("CALL create_project(name => 'compat-other')").description]
        token = dict(zip(cols, row))
        self.storage = Target("storage", "127.0.0.1", self.pg_port, token["user_name"], token["token"], "main")
        with self.storage.connect(autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
            cur = conn.execute("CALL create_workspace(name => 'compat', ttl_hours => 24)")
            ws = dict(zip([d.name for d in cur.description], cur.fetchone()))
        self.workspace = Target("workspace", "127.0.0.1", self.pg_port, ws["user"], ws["password"], ws["database"])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Targets:
    """All three, with the fixture loaded. A context manager: everything stops on exit."""

    def __init__(self, binary=None):
        self.binary = binary or os.environ.get("DUCKSTORE_BIN") or os.path.join(
            os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "debug", "duckstore")
        self.workdir = tempfile.mkdtemp(prefix="duckstore-compat-")
        os.chmod(self.workdir, 0o755)  # PostgreSQL runs as user postgres under root
        self.pg = self.duckstore = None

    def __enter__(self):
        try:
            self.pg = Postgres(self.workdir)
            self.duckstore = Duckstore(self.workdir, self.binary)
            self.all = [self.pg.target, self.duckstore.storage, self.duckstore.workspace]
            for target in self.all:
                load_fixture(target)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for part in (self.duckstore, self.pg):
            if part is not None:
                part.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def load_fixture(target):
    with target.connect(autocommit=True) as conn:
        if target.name != "storage":
            conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        for statement in fixture_sql():
            try:
                conn.execute(statement)
            except psycopg.Error as e:
                raise SystemExit(f"the fixture failed on {target.name}: {statement[:80]}…: {e}")


def _stop_on_sigterm(*_):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with Targets() as targets:
        print(json.dumps({t.name: t.env() for t in targets.all}, indent=2))
        print(f"work dir: {targets.workdir}; PostgreSQL's statement log: {targets.pg.log_path()}", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass

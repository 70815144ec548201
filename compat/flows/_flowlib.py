"""Shared helpers for the Python client flows (not a flow itself: run.py skips names starting with "_").

The flow contract (compat/README.md): settings come in through the environment, every step goes out
as one JSON object per line on stdout: {"step", "ok", "value"} or {"step", "ok": false, "error"}.

`Flow.step(name, fn)` runs one step: fn's return value is the step's value (made JSON-safe by
`plain`), an exception makes the step fail with the exception's message and SQLSTATE. Nothing is
retried, nothing is swallowed: a step that raised is reported as failed, and the flow goes on with
the next one.
"""

import datetime
import decimal
import json
import os
import signal
import sys
import threading
import traceback

# A step that takes longer than this fails with "timed out". SIGALRM interrupts Python-level waits
# (psycopg 3, subprocess waits); a call blocked inside C code (psycopg2, libpq) is not interrupted by
# it, so a watchdog thread ends the whole flow a little later, after reporting the step, rather
# than letting the flow hang until the runner's own timeout.
STEP_TIMEOUT_S = int(os.environ.get("COMPAT_STEP_TIMEOUT", "60"))
WATCHDOG_GRACE_S = 30


class StepTimeout(Exception):
    pass


def env():
    e = os.environ
    return {
        "host": e.get("PGHOST", "127.0.0.1"),
        "port": int(e.get("PGPORT", "5432")),
        "user": e.get("PGUSER", ""),
        "password": e.get("PGPASSWORD", ""),
        "dbname": e.get("PGDATABASE", ""),
        "sslmode": e.get("PGSSLMODE", "disable"),
        "target": e.get("COMPAT_TARGET", "postgres"),
        "schema": e.get("COMPAT_SCHEMA", "in.c-compat"),
        "workdir": e.get("COMPAT_WORKDIR") or os.getcwd(),
    }


def text(v):
    """A value as the user would print it: str() of it, None stays None."""
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)


def rows_as_text(rows):
    return [[text(v) for v in row] for row in rows]


def plain(v):
    """Make a value JSON-safe without losing what the user sees."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return repr(v) if v != v or v in (float("inf"), float("-inf")) else v
    if isinstance(v, (decimal.Decimal, datetime.date, datetime.time, datetime.timedelta)):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [plain(x) for x in v]
    return str(v)


def describe_error(e):
    """The message of an exception, with its SQLSTATE when the driver gives one.

    SQLAlchemy wraps the driver's exception (in .orig); psycopg2 has .pgcode, psycopg 3 .sqlstate,
    pyodbc puts the SQLSTATE first in args. Only the first lines of a message are kept (drivers
    append the statement, "LINE 1: ..." and a caret)."""
    orig = getattr(e, "orig", None)
    inner = orig if isinstance(orig, BaseException) else e
    state = getattr(inner, "sqlstate", None) or getattr(inner, "pgcode", None)
    diag = getattr(inner, "diag", None)
    msg = None
    if diag is not None:
        try:
            msg = diag.message_primary
        except Exception:
            msg = None
    if not msg and type(inner).__module__ == "pyodbc" and len(inner.args) == 2:
        state = state or inner.args[0]
        msg = str(inner.args[1]).strip()
    if not msg:
        msg = str(inner).strip() or type(inner).__name__
        lines = [l for l in msg.splitlines() if l.strip()]
        keep = []
        for l in lines:
            if l.startswith(("LINE ", "[SQL:", "(Background on this error")):
                break
            keep.append(l)
        msg = "\n".join(keep[:3]) if keep else msg
    if inner.__class__.__module__.split(".")[0] not in ("psycopg", "psycopg2", "pyodbc") \
            and not getattr(inner, "plain_message", False):
        msg = f"{type(inner).__name__}: {msg}"
    if state and state not in msg:
        msg = f"{msg} ({state})"
    return msg


class Flow:
    def __init__(self):
        self.env = env()
        self.results = {}
        self._current = None
        self._lock = threading.Lock()
        signal.signal(signal.SIGALRM, self._on_alarm)

    def emit(self, obj):
        with self._lock:
            sys.stdout.write(json.dumps(obj, sort_keys=True, default=str) + "\n")
            sys.stdout.flush()

    def _on_alarm(self, signum, frame):
        raise StepTimeout(f"timed out after {STEP_TIMEOUT_S} s")

    def step(self, name, fn, timeout=None):
        """Run fn() as step `name`; returns (ok, raw return value or None)."""
        self._current = name
        done = threading.Event()
        limit = timeout or STEP_TIMEOUT_S
        watchdog = threading.Thread(target=self._watchdog_for, args=(name, done, limit), daemon=True)
        watchdog.start()
        signal.alarm(limit)
        try:
            raw = fn()
            value = plain(raw)
            signal.alarm(0)
            result = {"step": name, "ok": True, "value": value}
            ok = True
        except BaseException as e:  # noqa: BLE001 - every failure is a failed step, reported
            signal.alarm(0)
            if isinstance(e, KeyboardInterrupt):
                raise
            if os.environ.get("COMPAT_DEBUG"):
                traceback.print_exc(file=sys.stderr)
            result = {"step": name, "ok": False, "error": describe_error(e)}
            raw, ok = None, False
        finally:
            done.set()
        self.results[name] = result
        self.emit(result)
        return ok, raw

    def _watchdog_for(self, name, done, limit):
        if not done.wait(limit + WATCHDOG_GRACE_S):
            self.emit({"step": name, "ok": False,
                       "error": f"timed out after {limit + WATCHDOG_GRACE_S} s (blocked; the flow stops here)"})
            sys.stdout.flush()
            os._exit(3)

    def fail(self, name, error):
        result = {"step": name, "ok": False, "error": error}
        self.results[name] = result
        self.emit(result)


def requires(ok_value, what):
    """Raise when an earlier step this one depends on failed (the step then fails too)."""
    if not ok_value:
        raise RuntimeError(f"needs {what}, which failed")

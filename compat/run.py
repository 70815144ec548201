"""Replays the corpus and runs the client flows against PostgreSQL 15, a storage session and a
workspace session, compares what each gives with PostgreSQL's answer, and writes the scoreboard.

    compat/run [--quick] [--write docs/compatibility.md] [--json results.json]
               [--check compat/baseline.json] [--update-baseline]

See compat/README.md for the corpus format and the flow contract.
"""

import argparse
import collections
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import psycopg
from psycopg import pq

import targets as targets_mod

HERE = targets_mod.HERE
REPO = targets_mod.REPO
VENV_PYTHON = sys.executable
SUBJECTS = ("storage", "workspace")
# Flows slow enough to leave out of the fast part (dbt starts a Python interpreter per command).
SLOW_FLOWS = {"dbt"}
FLOW_TIMEOUT_S = 600
STATEMENT_TIMEOUT = "20s"


# ---------------------------------------------------------------- corpus


class Entry:
    def __init__(self, group, id_, flags, sql, source):
        self.group, self.id, self.flags, self.sql, self.source = group, id_, flags, sql, source


def parse_corpus_file(path):
    group = os.path.splitext(os.path.basename(path))[0]
    entries, current, seen = [], None, set()
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        if line.startswith("-- @ "):
            if current:
                entries.append(current)
            words = line[5:].split()
            if not words:
                raise SystemExit(f"{path}: an entry without an id")
            if words[0] in seen:
                raise SystemExit(f"{path}: duplicate id {words[0]}")
            seen.add(words[0])
            current = {"id": words[0], "flags": set(words[1:]), "lines": [], "source": []}
        elif current is not None:
            if line.startswith("-- ") and not current["lines"]:
                current["source"].append(line[3:])
            else:
                current["lines"].append(line)
    if current:
        entries.append(current)
    out = []
    for e in entries:
        sql = "\n".join(e["lines"]).strip()
        sql = sql.replace("{schema_name}", targets_mod.SCHEMA).replace("{schema}", '"' + targets_mod.SCHEMA + '"')
        unknown = e["flags"] - {"unordered", "shape", "columns", "extended"}
        if unknown:
            raise SystemExit(f"{path}: {e['id']}: unknown flags {sorted(unknown)}")
        if not sql:
            raise SystemExit(f"{path}: {e['id']}: no statement")
        out.append(Entry(group, e["id"], e["flags"], sql, " ".join(e["source"])))
    return group, out


def load_corpus(directory):
    groups = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.sql"))):
        group, entries = parse_corpus_file(path)
        groups[group] = entries
    return groups


class Answer:
    """What a statement gave: an error's SQLSTATE, or columns, tag and rows (as text)."""

    def __init__(self):
        self.error = None  # (sqlstate, message)
        self.columns = []  # (name, type oid, typmod, is table column, table column number)
        self.tag = None
        self.rows = []

    @staticmethod
    def of(pgres):
        a = Answer()
        status = pgres.status
        if status in (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.NONFATAL_ERROR, pq.ExecStatus.BAD_RESPONSE):
            state = (pgres.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode() or "no SQLSTATE"
            msg = (pgres.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or pgres.error_message or b"").decode(
                "utf-8", "replace")
            a.error = (state, msg.strip())
            return a
        a.tag = (pgres.command_status or b"").decode()
        for i in range(pgres.nfields):
            a.columns.append((
                (pgres.fname(i) or b"").decode("utf-8", "replace"),
                pgres.ftype(i),
                pgres.fmod(i),
                pgres.ftable(i) != 0,
                pgres.ftablecol(i),
            ))
        for r in range(pgres.ntuples):
            a.rows.append(tuple(
                _text(pgres.get_value(r, c))
                for c in range(pgres.nfields)
            ))
        return a


def _text(value):
    return None if value is None else bytes(value).decode("utf-8", "replace")


def run_entry(pgconn, entry):
    sql = entry.sql.encode()
    try:
        if "extended" in entry.flags:
            res = pgconn.exec_params(sql, [], result_format=0)
        else:
            res = pgconn.exec_(sql)
    except psycopg.OperationalError as e:
        a = Answer()
        a.error = ("connection lost", str(e).strip())
        return a
    return Answer.of(res)


class TypeNames:
    """A type OID and typmod as PostgreSQL writes them (`format_type`), for readable differences."""

    def __init__(self, conn):
        self.conn, self.cache = conn, {}

    def show(self, oid, typmod):
        if (oid, typmod) not in self.cache:
            row = self.conn.execute("SELECT format_type(%s::oid, %s)", (oid, typmod)).fetchone()
            self.cache[(oid, typmod)] = row[0] if row and row[0] else f"oid {oid}"
        return self.cache[(oid, typmod)]


def compare(entry, ref, got, types):
    """None when `got` is what a user of PostgreSQL would see, else the difference in words."""
    if ref.error or got.error:
        if ref.error and got.error:
            if ref.error[0] == got.error[0]:
                return None
            return f"error {got.error[0]} where PostgreSQL gives {ref.error[0]}: {got.error[1]}"
        if got.error:
            return f"error {got.error[0]}: {got.error[1]}"
        return f"answers where PostgreSQL refuses with {ref.error[0]} ({ref.error[1]})"
    if len(ref.columns) != len(got.columns):
        return (f"{len(got.columns)} columns ({', '.join(c[0] for c in got.columns)}) where PostgreSQL has "
                f"{len(ref.columns)} ({', '.join(c[0] for c in ref.columns)})")
    for r, g in zip(ref.columns, got.columns):
        if r[0] != g[0]:
            return f"column named {g[0]!r} where PostgreSQL names it {r[0]!r}"
        if r[1] != g[1] or r[2] != g[2]:
            return f"column {r[0]}: type {types.show(g[1], g[2])} where PostgreSQL has {types.show(r[1], r[2])}"
        if (r[3], r[4] if r[3] else 0) != (g[3], g[4] if g[3] else 0):
            describe = lambda c: f"table column {c[4]}" if c[3] else "no table column"  # noqa: E731
            return f"column {r[0]}: RowDescription says {describe(g)} where PostgreSQL says {describe(r)}"
    if "columns" in entry.flags:
        return None
    ref_tag = ref.tag.split(" ")[0] if "shape" in entry.flags else ref.tag
    got_tag = got.tag.split(" ")[0] if "shape" in entry.flags else got.tag
    if ref_tag != got_tag:
        return f"command tag {got.tag!r} where PostgreSQL says {ref.tag!r}"
    if len(ref.rows) != len(got.rows):
        return f"{len(got.rows)} rows where PostgreSQL returns {len(ref.rows)}"
    if "shape" in entry.flags:
        return None
    ref_rows, got_rows = ref.rows, got.rows
    if "unordered" in entry.flags:
        key = lambda row: tuple((v is None, v or "") for v in row)  # noqa: E731
        ref_rows, got_rows = sorted(ref_rows, key=key), sorted(got_rows, key=key)
    for i, (r, g) in enumerate(zip(ref_rows, got_rows)):
        if r != g:
            for name, rv, gv in zip((c[0] for c in ref.columns), r, g):
                if rv != gv:
                    return f"row {i + 1}, {name}: {short(gv)} where PostgreSQL gives {short(rv)}"
    return None


def short(value, limit=60):
    if value is None:
        return "NULL"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…'"


def open_raw(target):
    conn = target.connect(autocommit=True)
    conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
    return conn


def replay_corpus(groups, all_targets, log):
    """{group: [(entry, {subject: difference or None})]}, and entries PostgreSQL answers unstably."""
    ref_target = all_targets["postgres"]
    results, unstable = {}, []
    types_conn = open_raw(ref_target)
    types = TypeNames(types_conn)
    for group, entries in groups.items():
        conns = {name: open_raw(t) for name, t in all_targets.items()}
        conns["postgres-again"] = open_raw(ref_target)
        rows = []
        for entry in entries:
            answers = {}
            for name, conn in list(conns.items()):
                if conn.closed:
                    conns[name] = conn = open_raw(all_targets[name.replace("-again", "")])
                answers[name] = run_entry(conn.pgconn, entry)
            again = compare(entry, answers["postgres"], answers["postgres-again"], types)
            if again is not None:
                unstable.append((entry, again))
            rows.append((entry, {s: compare(entry, answers["postgres"], answers[s], types) for s in SUBJECTS}))
        for conn in conns.values():
            conn.close()
        results[group] = rows
        log(f"corpus {group}: {len(rows)} statements")
    types_conn.close()
    return results, unstable, types


# ---------------------------------------------------------------- flows


def flow_command(path):
    ext = os.path.splitext(path)[1]
    if ext == ".py":
        return [VENV_PYTHON, path]
    if ext == ".js":
        return ["node", path]
    if ext == ".sh":
        return ["bash", path]
    return None


def list_flows(quick):
    flows = {}
    for path in sorted(glob.glob(os.path.join(HERE, "flows", "*"))):
        name, _ = os.path.splitext(os.path.basename(path))
        if name.startswith("_") or flow_command(path) is None:
            continue
        if quick and name in SLOW_FLOWS:
            continue
        flows[name] = path
    return flows


def run_flow(path, target):
    env = dict(os.environ)
    env.update(target.env())
    with tempfile.TemporaryDirectory(prefix="compat-flow-") as work:
        env["COMPAT_WORKDIR"] = work
        started = time.time()
        try:
            done = subprocess.run(flow_command(path), env=env, cwd=work, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=FLOW_TIMEOUT_S)
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as e:
            code, out, err = "timeout", (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), ""
    steps = collections.OrderedDict()
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            step = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(step, dict) and "step" in step:
            steps[step["step"]] = step
    return {"exit": code, "steps": steps, "stderr": err[-2000:], "seconds": round(time.time() - started, 1)}


def compare_step(ref, got):
    if got is None:
        return "not reached (the flow ended before this step)"
    if not got.get("ok"):
        return f"fails: {got.get('error', 'no error given')}"
    if not same(ref.get("value"), got.get("value")):
        path, r, g = first_difference(ref.get("value"), got.get("value"))
        where = f" at {path}" if path else ""
        return f"sees{where} {short_json(g)} where PostgreSQL gives {short_json(r)}"
    return None


def same(a, b):
    """Equal as the user sees them: 3 and 3.0, or true and 1, are not (Python says they are)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def first_difference(ref, got, path=""):
    """The first place two JSON values differ: (path, PostgreSQL's part, the other's part)."""
    if isinstance(ref, dict) and isinstance(got, dict):
        for key in sorted(set(ref) | set(got)):
            if not same(ref.get(key, "<missing>"), got.get(key, "<missing>")):
                return first_difference(ref.get(key, "<missing>"), got.get(key, "<missing>"), f"{path}.{key}")
    if isinstance(ref, list) and isinstance(got, list):
        for i, (r, g) in enumerate(zip(ref, got)):
            if not same(r, g):
                return first_difference(r, g, f"{path}[{i}]")
        if len(ref) != len(got):
            return f"{path} (length)", f"{len(ref)} items", f"{len(got)} items"
    return path, ref, got


def short_json(value, limit=160):
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_flows(flows, all_targets, log):
    results = {}
    for name, path in flows.items():
        runs = {t: run_flow(path, all_targets[t]) for t in ("postgres",) + SUBJECTS}
        ref = runs["postgres"]
        broken = [s for s, step in ref["steps"].items() if not step.get("ok")]
        if ref["exit"] != 0 or not ref["steps"]:
            broken.append(f"the flow exited with {ref['exit']} on PostgreSQL: {ref['stderr'][-300:]}")
        rows = []
        for step_id, ref_step in ref["steps"].items():
            if not ref_step.get("ok"):
                continue
            rows.append((step_id, {s: compare_step(ref_step, runs[s]["steps"].get(step_id)) for s in SUBJECTS}))
        results[name] = {"rows": rows, "broken": broken, "runs": runs}
        log(f"flow {name}: {len(rows)} steps; " + ", ".join(
            f"{s} {sum(1 for _, d in rows if d[s] is None)}/{len(rows)} ({runs[s]['seconds']} s)" for s in SUBJECTS))
    return results


# ---------------------------------------------------------------- scoreboard


def share(rows, subject):
    same = sum(1 for _, diffs in rows if diffs[subject] is None)
    return same, len(rows)


def pct(same, total):
    return f"{same}/{total} ({100.0 * same / total:.0f}%)" if total else "—"


def scoreboard(corpus, flows, unstable, quick, pg_version, duckstore_version):
    out = []
    w = out.append
    w("# Compatibility with PostgreSQL 15")
    w("")
    w("What clients see from duckstore compared with what PostgreSQL 15 shows them, measured by")
    w("`compat/run` (see `compat/README.md`): every corpus statement and every step of every client flow")
    w("runs on PostgreSQL 15, on a storage session and on a workspace session over the same data, and")
    w("counts as identical only when names, types, typmods, tags, row counts and values (or the error's")
    w("SQLSTATE) are the same. Table OIDs are compared as \"a table column or not\" plus the column")
    w("number, since OIDs differ between any two servers. Generated by `compat/run --write "
      "docs/compatibility.md`; do not edit by hand.")
    w("")
    w(f"Last run: {datetime.date.today().isoformat()}, {pg_version}, duckstore {duckstore_version}"
      + (" (fast part only: slow flows left out)" if quick else "") + ".")
    w("")
    w("## Summary")
    w("")
    w("| | Storage session | Workspace session |")
    w("|---|---|---|")
    flow_rows = [r for f in flows.values() for r in f["rows"]]
    corpus_rows = [r for rows in corpus.values() for r in rows]
    w(f"| Client flows ({len(flows)} clients, {len(flow_rows)} steps) | {pct(*share(flow_rows, 'storage'))} "
      f"| {pct(*share(flow_rows, 'workspace'))} |")
    w(f"| Corpus ({len(corpus)} groups, {len(corpus_rows)} statements) | {pct(*share(corpus_rows, 'storage'))} "
      f"| {pct(*share(corpus_rows, 'workspace'))} |")
    w("")
    w("## Client flows")
    w("")
    w("| Client flow | Steps | Storage session | Workspace session |")
    w("|---|---|---|---|")
    for name, f in flows.items():
        w(f"| {name} | {len(f['rows'])} | {pct(*share(f['rows'], 'storage'))} | {pct(*share(f['rows'], 'workspace'))} |")
    w("")
    w("## Corpus groups")
    w("")
    w("| Group | Statements | Storage session | Workspace session |")
    w("|---|---|---|---|")
    for group, rows in corpus.items():
        w(f"| {group} | {len(rows)} | {pct(*share(rows, 'storage'))} | {pct(*share(rows, 'workspace'))} |")
    w("")
    w("## Every difference")
    w("")
    w("Each line: what differs, then why (the first difference found; later ones may hide behind it).")
    for name, f in flows.items():
        diffs = [(s, d) for s, d in f["rows"] if d["storage"] or d["workspace"]]
        if not diffs and not f["broken"]:
            continue
        w("")
        w(f"### Flow `{name}`")
        w("")
        for step in f["broken"]:
            w(f"- (fails on PostgreSQL too, not counted) `{step}`")
        for step, d in diffs:
            for s in SUBJECTS:
                if d[s]:
                    w(f"- `{step}` — {s}: {one_line(d[s])}")
    for group, rows in corpus.items():
        diffs = [(e, d) for e, d in rows if d["storage"] or d["workspace"]]
        if not diffs:
            continue
        w("")
        w(f"### Corpus `{group}`")
        w("")
        for e, d in diffs:
            for s in SUBJECTS:
                if d[s]:
                    w(f"- `{e.id}` — {s}: {one_line(d[s])}")
    if unstable:
        w("")
        w("### Unstable on PostgreSQL (a corpus defect: two PostgreSQL sessions disagree)")
        w("")
        for e, why in unstable:
            w(f"- `{e.group}/{e.id}`: {one_line(why)}")
    w("")
    return "\n".join(out)


def one_line(text, limit=300):
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def totals(corpus, flows):
    """Identical counts per scoreboard row, for the baseline ratchet."""
    out = {}
    for name, f in flows.items():
        out[f"flow/{name}"] = {s: share(f["rows"], s)[0] for s in SUBJECTS} | {"total": len(f["rows"])}
    for group, rows in corpus.items():
        out[f"corpus/{group}"] = {s: share(rows, s)[0] for s in SUBJECTS} | {"total": len(rows)}
    return out


def check_baseline(path, now, quick):
    """Regressions against the committed baseline: rows whose identical count dropped."""
    with open(path) as f:
        base = json.load(f)
    problems = []
    for row, counts in base.items():
        if row not in now:
            if quick and row.startswith("flow/") and row[5:] in SLOW_FLOWS:
                continue
            problems.append(f"{row}: in the baseline but not measured")
            continue
        for s in SUBJECTS:
            if now[row][s] < counts[s]:
                problems.append(f"{row}: {s} identical {now[row][s]} < baseline {counts[s]}")
    return problems


def self_test():
    """The comparison itself: every kind of difference a user would see is one."""

    class Types:
        def show(self, oid, typmod):
            return f"{oid}({typmod})"

    def answer(columns=(("a", 23, -1, False, 0),), tag="SELECT 1", rows=(("1",),), error=None):
        a = Answer()
        a.columns, a.tag, a.rows, a.error = list(columns), tag, list(rows), error
        return a

    def entry(*flags):
        return Entry("t", "t", set(flags), "", "")

    ref = answer()
    cases = [
        (entry(), answer(), False),
        (entry(), answer(columns=(("b", 23, -1, False, 0),)), True),  # name
        (entry(), answer(columns=(("a", 20, -1, False, 0),)), True),  # type
        (entry(), answer(columns=(("a", 23, 8, False, 0),)), True),  # typmod
        (entry(), answer(columns=(("a", 23, -1, True, 1),)), True),  # RowDescription table column
        (entry(), answer(tag="SELECT 2"), True),  # tag
        (entry(), answer(rows=(("2",),)), True),  # value
        (entry(), answer(rows=((None,),)), True),  # NULL is not a value
        (entry(), answer(rows=()), True),  # row count
        (entry(), answer(error=("42P01", "x")), True),  # refused
        (entry("shape"), answer(rows=(("2",),)), False),
        (entry("shape"), answer(rows=(("2",), ("3",))), True),
        (entry("columns"), answer(rows=(), tag="SELECT 0"), False),
        (entry("columns"), answer(columns=(("a", 25, -1, False, 0),)), True),
    ]
    for e, got, differs in cases:
        found = compare(e, ref, got, Types())
        assert (found is not None) == differs, (e.flags, got.__dict__, found)
    two = answer(rows=(("1",), ("2",)), tag="SELECT 2")
    assert compare(entry(), two, answer(rows=(("2",), ("1",)), tag="SELECT 2"), Types()) is not None
    assert compare(entry("unordered"), two, answer(rows=(("2",), ("1",)), tag="SELECT 2"), Types()) is None
    failed = answer(error=("42P01", "x"))
    assert compare(entry(), failed, answer(error=("42P01", "y")), Types()) is None
    assert compare(entry(), failed, answer(error=("42703", "y")), Types()) is not None
    assert compare(entry(), failed, answer(), Types()) is not None
    ok = {"ok": True, "value": {"a": [1, 2]}}
    assert compare_step(ok, {"ok": True, "value": {"a": [1, 2]}}) is None
    assert compare_step(ok, {"ok": True, "value": {"a": [1, 3]}}) is not None
    assert compare_step(ok, {"ok": True, "value": {"a": [1, 2, 3]}}) is not None
    assert compare_step(ok, {"ok": False, "value": {"a": [1, 2]}}) is not None
    assert compare_step(ok, None) is not None
    assert compare_step({"ok": True, "value": [3]}, {"ok": True, "value": [3.0]}) is not None
    assert compare_step({"ok": True, "value": [True]}, {"ok": True, "value": [1]}) is not None
    print("compat: the comparison's self-test passed", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="leave out the slow flows")
    ap.add_argument("--write", help="write the scoreboard (markdown) here")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--check", help="fail if a row's identical count fell below this baseline")
    ap.add_argument("--update-baseline", help="write the identical counts here")
    ap.add_argument("--self-test", action="store_true", help="check the comparison itself, then exit")
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus"), help="the corpus directory")
    ap.add_argument("--only", help="comma-separated flow names or corpus groups to run")
    args = ap.parse_args()
    log = lambda m: print(f"compat: {m}", file=sys.stderr, flush=True)  # noqa: E731
    if args.self_test:
        self_test()
        return

    groups = load_corpus(args.corpus)
    flows = list_flows(args.quick)
    if args.only:
        keep = set(args.only.split(","))
        groups = {g: e for g, e in groups.items() if g in keep}
        flows = {f: p for f, p in flows.items() if f in keep}
    started = time.time()
    with targets_mod.Targets() as t:
        all_targets = {x.name: x for x in t.all}
        with all_targets["postgres"].connect() as c:
            pg_version = "PostgreSQL " + c.execute("SHOW server_version").fetchone()[0].split(" ")[0]
        duckstore_version = subprocess.run([t.binary, "--version"], capture_output=True, text=True).stdout.strip()
        duckstore_version = duckstore_version.split(" ")[-1] if duckstore_version else "?"
        corpus, unstable, _ = replay_corpus(groups, all_targets, log)
        flow_results = run_flows(flows, all_targets, log)
    log(f"done in {time.time() - started:.0f} s")

    text = scoreboard(corpus, flow_results, unstable, args.quick, pg_version, duckstore_version)
    if args.write:
        with open(args.write, "w") as f:
            f.write(text)
    now = totals(corpus, flow_results)
    for row, counts in now.items():
        log(f"{row}: storage {counts['storage']}/{counts['total']}, workspace {counts['workspace']}/{counts['total']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"totals": now, "flows": {n: {"broken": r["broken"], "runs": r["runs"]}
                                                for n, r in flow_results.items()}},
                      f, indent=1, default=str)
    if args.update_baseline:
        with open(args.update_baseline, "w") as f:
            json.dump(now, f, indent=1, sort_keys=True)
            f.write("\n")
    failures = []
    if unstable:
        failures.append(f"{len(unstable)} corpus statements PostgreSQL itself answers differently twice: "
                        + ", ".join(f"{e.group}/{e.id}" for e, _ in unstable[:10]))
    for name, r in flow_results.items():
        if r["broken"]:
            failures.append(f"flow {name} fails on PostgreSQL: {r['broken'][:3]}")
    if args.check:
        regressions = check_baseline(args.check, now, args.quick)
        failures += regressions
        for row in {r.split(":")[0] for r in regressions}:
            kind, name = row.split("/", 1)
            diffs = flow_results[name]["rows"] if kind == "flow" and name in flow_results else [
                (e.id, d) for e, d in corpus.get(name, [])]
            for step, d in diffs:
                for subject in SUBJECTS:
                    if d[subject]:
                        log(f"  {row} {step} — {subject}: {one_line(d[subject])}")
    for f in failures:
        log(f"FAILED: {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

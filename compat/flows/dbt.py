"""dbt-core 1.10 with dbt-postgres 1.9: a throwaway project in $COMPAT_WORKDIR (a profile pointing at the
target, a source on the fixture, a seed, a view, a table and an incremental model, unique/not_null
tests), run as a user runs it: `dbt debug`, `dbt seed`, `dbt run`, `dbt run` again (the incremental
model's merge), `dbt test`; then what the models hold, read back, and the output schema dropped.

dbt runs as a subprocess of the venv (`dbt ... --no-version-check`, anonymous usage statistics off):
nothing is downloaded (no packages, no version check). A command is ok when it exits 0; its value
is each node's status and the adapter's message from target/run_results.json (for `dbt debug`, the
checks it prints), its error the last error lines dbt printed.

The models go to schema "out.c-dbt-<target>" (quoted by dbt-postgres as any identifier; a bucket
in a duckstore storage session; named after the target as the flow contract asks of what a flow
writes). Normalised: nothing but the timings and timestamps dbt prints, which are left out.
"""

import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep compat/flows/ free of __pycache__
# This file is named dbt.py: its directory goes to the end of the path so that nothing imported
# here can mistake it for the dbt package.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE] + [HERE]

import psycopg  # noqa: E402

from _flowlib import Flow, rows_as_text  # noqa: E402

DBT = os.path.join(os.path.dirname(sys.executable), "dbt")
COMMAND_TIMEOUT_S = 300

PROJECT = """\
name: compat
version: "1.0"
config-version: 2
profile: compat
model-paths: ["models"]
seed-paths: ["seeds"]
test-paths: ["tests"]
target-path: "target"
clean-targets: ["target"]
models:
  compat:
    +materialized: view
"""

PROFILE = """\
compat:
  target: compat
  outputs:
    compat:
      type: postgres
      host: "{{{{ env_var('PGHOST') }}}}"
      port: "{{{{ env_var('PGPORT') | as_number }}}}"
      user: "{{{{ env_var('PGUSER') }}}}"
      password: "{{{{ env_var('PGPASSWORD') }}}}"
      dbname: "{{{{ env_var('PGDATABASE') }}}}"
      sslmode: "{{{{ env_var('PGSSLMODE', 'disable') }}}}"
      schema: "{schema}"
      threads: 1
      connect_timeout: 10
"""

SOURCES = """\
version: 2
sources:
  - name: compat
    schema: "{{ env_var('COMPAT_SCHEMA') }}"
    tables:
      - name: customers
      - name: orders
"""

SCHEMA_YML = """\
version: 2
models:
  - name: customer_totals
    columns:
      - name: customer_id
        data_tests: [unique, not_null]
      - name: name
        data_tests: [not_null]
  - name: orders_incremental
    columns:
      - name: id
        data_tests: [unique, not_null]
seeds:
  - name: countries
    columns:
      - name: code
        data_tests: [unique, not_null]
"""

SEED = """\
code,country_name,population_m
US,United States,333.3
DE,Germany,84.4
GB,United Kingdom,67.7
"""

MODELS = {
    "stg_orders.sql": """\
select id, customer_id, amount, quantity, ordered_at
from {{ source('compat', 'orders') }}
""",
    "customer_totals.sql": """\
{{ config(materialized='table') }}
select c.id as customer_id,
       c.name,
       k.country_name,
       count(o.id) as order_count,
       coalesce(sum(o.amount), 0) as total_amount
from {{ source('compat', 'customers') }} c
left join {{ ref('stg_orders') }} o on o.customer_id = c.id
left join {{ ref('countries') }} k on k.code = c.country
group by c.id, c.name, k.country_name
""",
    "orders_incremental.sql": """\
{{ config(materialized='incremental', unique_key='id') }}
select id, customer_id, amount, ordered_at
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where ordered_at >= (select max(ordered_at) from {{ this }})
{% endif %}
""",
}

TIMESTAMP = re.compile(r"^\d\d:\d\d:\d\d(\.\d+)?\s+")


def write_project(root, out_schema):
    os.makedirs(os.path.join(root, "models"))
    os.makedirs(os.path.join(root, "seeds"))
    os.makedirs(os.path.join(root, "tests"))
    files = {
        "dbt_project.yml": PROJECT,
        "profiles.yml": PROFILE.format(schema=out_schema),
        "models/sources.yml": SOURCES,
        "models/schema.yml": SCHEMA_YML,
        "seeds/countries.csv": SEED,
    }
    files.update({f"models/{k}": v for k, v in MODELS.items()})
    for rel, body in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(body)


def clean_lines(output):
    return [TIMESTAMP.sub("", l).rstrip() for l in output.splitlines() if l.strip()]


def error_lines(output):
    """The last meaningful error lines dbt printed (its summary of failures when there is one)."""
    lines = clean_lines(output)
    for i, l in enumerate(lines):
        if l.startswith("Completed with") or l.startswith("Encountered an error"):
            tail = [x.strip() for x in lines[i:] if x.strip() and not x.startswith("Done. PASS")]
            return " | ".join(tail[:12])
    picked = []
    for i, l in enumerate(lines):
        if re.search(r"error|exception|traceback", l, re.I):
            picked.extend(x.strip() for x in lines[i:i + 3])
    picked = list(dict.fromkeys(picked))  # de-duplicated, in order
    return " | ".join(picked[-10:]) if picked else " | ".join(lines[-5:])


class DbtFailed(Exception):
    plain_message = True  # its message is the step's error as is


def main():
    flow = Flow()
    env = flow.env
    out_schema = f"out.c-dbt-{env['target']}"
    root = os.path.join(env["workdir"], "dbt_project")
    if os.path.exists(root):
        shutil.rmtree(root)
    write_project(root, out_schema)

    dbt_env = dict(os.environ)
    dbt_env.update({
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": root,
        "DBT_PROJECT_DIR": root,
        "DBT_LOG_PATH": os.path.join(root, "logs"),
        "DBT_VERSION_CHECK": "false",
        "DBT_USE_COLORS": "false",
        "DBT_PARTIAL_PARSE": "false",
        "NO_COLOR": "1",
    })

    def connect():
        return psycopg.connect(host=env["host"], port=env["port"], user=env["user"], password=env["password"],
                               dbname=env["dbname"], sslmode=env["sslmode"], connect_timeout=10, autocommit=True)

    q_out = '"' + out_schema.replace('"', '""') + '"'
    try:  # leftovers of an interrupted earlier run (not a step: the runner starts from empty targets)
        with connect() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {q_out} CASCADE")
    except Exception:
        pass

    def dbt(*args):
        results = os.path.join(root, "target", "run_results.json")
        if os.path.exists(results):
            os.remove(results)
        done = subprocess.run([DBT, *args, "--no-version-check", "--no-use-colors",
                               "--project-dir", root, "--profiles-dir", root],
                              cwd=root, env=dbt_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=COMMAND_TIMEOUT_S)
        if done.returncode != 0:
            raise DbtFailed(f"exit {done.returncode}: {error_lines(done.stdout)}")
        nodes = None
        if os.path.exists(results):
            with open(results) as f:
                run = json.load(f)
            nodes = sorted(
                [r["unique_id"], r["status"], (r.get("adapter_response") or {}).get("_message"), r.get("failures")]
                for r in run["results"])
        return done.stdout, nodes

    def debug():
        output, _ = dbt("debug")
        # the checks dbt prints: "profiles.yml file [OK found and valid]", "Connection test: [OK ...]"
        return [l.strip() for l in clean_lines(output) if "[OK" in l or "[ERROR" in l]

    step_timeout = COMMAND_TIMEOUT_S + 30
    flow.step("dbt.debug", debug, timeout=step_timeout)
    flow.step("dbt.seed", lambda: dbt("seed")[1], timeout=step_timeout)
    flow.step("dbt.run", lambda: dbt("run")[1], timeout=step_timeout)
    flow.step("dbt.run_incremental", lambda: dbt("run")[1], timeout=step_timeout)
    flow.step("dbt.test", lambda: dbt("test")[1], timeout=step_timeout)

    def read_models():
        with connect() as conn:
            def rows(sql):
                return rows_as_text(conn.execute(sql).fetchall())
            return {
                "countries": rows(f"SELECT * FROM {q_out}.countries ORDER BY code"),
                "stg_orders": rows(f"SELECT * FROM {q_out}.stg_orders ORDER BY id"),
                "customer_totals": rows(f"SELECT * FROM {q_out}.customer_totals ORDER BY customer_id"),
                "orders_incremental": rows(f"SELECT * FROM {q_out}.orders_incremental ORDER BY id"),
            }

    flow.step("dbt.read_models", read_models)

    def drop_schema():
        with connect() as conn:
            conn.execute(f"DROP SCHEMA {q_out} CASCADE")
            left = conn.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
                                (out_schema,)).fetchone()[0]
        return {"schema_left": left}

    flow.step("dbt.drop_schema", drop_schema)


if __name__ == "__main__":
    main()

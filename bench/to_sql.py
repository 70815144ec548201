"""pandas.to_sql into duckstore and into PostgreSQL 15, side by side in the same run (issue 21).

    CARGO_TARGET_DIR=… cargo build --release
    DUCKSTORE_BIN=$CARGO_TARGET_DIR/release/duckstore \\
        ~/.cache/duckstore/compat-venv/bin/python bench/to_sql.py [--rows 100000]

Starts the compatibility targets (compat/targets.py: a throwaway PostgreSQL 15 and duckstore),
then writes a DataFrame with SQLAlchemy + psycopg the way pandas users do, inside the one
transaction to_sql opens: `method="multi"` in chunks of 1000 rows, and pandas' default (one
INSERT per row, executemany) on a tenth of the rows. Prints a Markdown table with the ratio.
"""

import argparse
import datetime
import os
import statistics
import sys
import time

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
from targets import SCHEMA, Targets  # noqa: E402


def frame(rows):
    start = datetime.date(2024, 1, 1)
    return pd.DataFrame({
        "id": range(rows),
        "name": [f"name {i}" for i in range(rows)],
        "amount": [i * 0.5 for i in range(rows)],
        "day": [start + datetime.timedelta(days=i % 365) for i in range(rows)],
    })


def timed(engine, df, table, **kwargs):
    started = time.perf_counter()
    df.to_sql(table, engine, schema=SCHEMA, index=False, if_exists="replace", **kwargs)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        n = conn.execute(sa.text(f'SELECT count(*) FROM "{SCHEMA}"."{table}"')).scalar()
    assert n == len(df), (n, len(df))
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with Targets() as targets:
        engines = {}
        for target in (targets.pg.target, targets.duckstore.storage):
            url = sa.engine.URL.create("postgresql+psycopg", username=target.user, password=target.password,
                                       host=target.host, port=target.port, database=target.dbname)
            engines[target.name] = sa.create_engine(url)
        cases = [
            (f"to_sql of {args.rows} rows, method=multi, chunks of 1000", frame(args.rows),
             dict(method="multi", chunksize=1000)),
            (f"to_sql of {args.rows // 10} rows, pandas' default (a row per INSERT)", frame(args.rows // 10), {}),
        ]
        print("| benchmark | duckstore | PostgreSQL 15 | ratio (duckstore / PostgreSQL) |")
        print("|---|---|---|---|")
        for what, df, kwargs in cases:
            medians = {}
            for name, engine in engines.items():
                runs = [timed(engine, df, f"to_sql_bench_{i}", **kwargs) for i in range(args.runs)]
                medians[name] = statistics.median(runs)
            duck, pg = medians["storage"], medians["postgres"]
            print(f"| {what} (median of {args.runs}) | {duck:.2f} s | {pg:.2f} s | {duck / pg:.2f}× |", flush=True)
        for engine in engines.values():
            engine.dispose()


if __name__ == "__main__":
    main()

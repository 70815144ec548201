"""psycopg 3 against duckstore, the way applications use it (default settings: transactions on).

Run by tests/it/clients.rs with DS_HOST, DS_PORT, DS_USER, DS_PASSWORD; a bucket "in.c-sales"
with table "orders" (ids 1-3) exists. Exits non-zero on the first wrong answer.
"""
import datetime
import decimal
import os

import psycopg
from psycopg.types import TypeInfo

conninfo = dict(host=os.environ["DS_HOST"], port=os.environ["DS_PORT"], user=os.environ["DS_USER"],
                password=os.environ["DS_PASSWORD"], dbname="main")

with psycopg.connect(**conninfo) as conn:
    assert conn.info.server_version == 150000, conn.info.server_version
    with conn.cursor() as cur:
        cur.execute('SELECT id, name, amount, day FROM "in.c-sales"."orders" WHERE id = %s AND day >= %s',
                    (1, datetime.date(2024, 1, 1)))
        assert cur.fetchone() == (1, "a", decimal.Decimal("1.50"), datetime.date(2024, 1, 1))
        cur.execute('SELECT count(*) FROM "in.c-sales"."orders"')
        assert cur.fetchone()[0] == 3
        # the 6th execution switches to a named prepared statement
        for _ in range(7):
            cur.execute('SELECT name FROM "in.c-sales"."orders" WHERE id = %s', (2,))
            assert cur.fetchone()[0] == "b"
        cur.execute('SELECT id FROM "in.c-sales"."orders" WHERE amount > %s ORDER BY id', (decimal.Decimal("2"),))
        assert [r[0] for r in cur.fetchall()] == [2]
    with conn.cursor(binary=True) as cur:
        cur.execute('SELECT id, amount FROM "in.c-sales"."orders" WHERE id <= %s ORDER BY id', (2,))
        assert cur.fetchall() == [(1, decimal.Decimal("1.50")), (2, decimal.Decimal("2.50"))]
    # a named (server-side) cursor: DECLARE with a parameter, then FETCH FORWARD n
    with conn.transaction():
        with conn.cursor(name="orders_by_id") as cur:
            cur.execute('SELECT id FROM "in.c-sales"."orders" WHERE id >= %s ORDER BY id', (1,))
            assert cur.fetchmany(2) == [(1,), (2,)]
            assert cur.fetchall() == [(3,)]
    # a named cursor WITH HOLD outlives its transaction (psycopg declares it, then scrolls it
    # forward with MOVE)
    with conn.cursor(name="held_orders", withhold=True) as cur:
        cur.execute('SELECT id FROM "in.c-sales"."orders" ORDER BY id')
        conn.commit()
        cur.scroll(1)
        assert cur.fetchall() == [(2,), (3,)]
    # nested transactions use savepoints; an error inside rolls back to the savepoint
    with conn.transaction():
        try:
            with conn.transaction():
                conn.execute("SELECT 2 + 'x'::INTEGER")
        except psycopg.errors.InvalidTextRepresentation:
            pass
        assert conn.execute("SELECT 2").fetchone()[0] == 2
    conn.rollback()
    # type metadata through pg_type
    info = TypeInfo.fetch(conn, "numeric")
    assert info is not None and info.oid == 1700, info
    # schema metadata through information_schema
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position", ("in.c-sales", "orders")).fetchall()
    assert rows == [("id", "integer"), ("name", "text"), ("amount", "numeric"), ("day", "date")], rows
    conn.rollback()

# writes in autocommit mode (storage writes are atomic statements)
with psycopg.connect(**conninfo, autocommit=True) as conn:
    with conn.cursor() as cur:
        cur.executemany('INSERT INTO "in.c-sales"."orders" (id, name) VALUES (%s, %s)', [(10, "x"), (11, "y")])
        cur.execute('UPDATE "in.c-sales"."orders" SET name = %s WHERE id = %s', ("z", 10))
        assert cur.rowcount == 1
        cur.execute('DELETE FROM "in.c-sales"."orders" WHERE id >= %s', (10,))
        assert cur.rowcount == 2
    # a write inside a transaction block that fails rolls back everything it did
    try:
        with conn.transaction():
            conn.execute('DELETE FROM "in.c-sales"."orders"')
            assert conn.execute('SELECT count(*) FROM "in.c-sales"."orders"').fetchone()[0] == 0
            conn.execute('INSERT INTO "in.c-sales"."orders" (id) VALUES (NULL)')
        raise AssertionError("a NULL key was accepted")
    except psycopg.errors.NotNullViolation:
        pass
    assert conn.execute('SELECT count(*) FROM "in.c-sales"."orders"').fetchone()[0] == 3
    with conn.transaction():
        conn.execute('INSERT INTO "in.c-sales"."orders" (id, name, amount) VALUES (%s, %s, %s)',
                     (12, "tx", decimal.Decimal("1.25")))
        # a Decimal parameter in arithmetic: typed NUMERIC as PostgreSQL types it
        cur = conn.execute('UPDATE "in.c-sales"."orders" SET amount = amount * %s WHERE id = %s',
                           (decimal.Decimal("2"), 12))
        assert cur.rowcount == 1
    assert conn.execute('SELECT count(*) FROM "in.c-sales"."orders"').fetchone()[0] == 4
    assert conn.execute('SELECT amount FROM "in.c-sales"."orders" WHERE id = 12').fetchone()[0] == decimal.Decimal("2.50")
    conn.execute('DELETE FROM "in.c-sales"."orders" WHERE id = 12')

# COPY inside a transaction (psycopg's default): the block stays open for the client, so its
# commit() sends COMMIT (a ReadyForQuery saying idle made psycopg skip it: the rows were lost)
with psycopg.connect(**conninfo) as conn:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        with cur.copy('COPY "in.c-sales"."orders" (id, name, amount) FROM STDIN') as copy:
            copy.write_row((21, "copied", decimal.Decimal("1.00")))
            copy.write_row((22, "copied", decimal.Decimal("2.00")))
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS, conn.info.transaction_status
    conn.commit()
with psycopg.connect(**conninfo, autocommit=True) as conn:
    assert conn.execute('SELECT count(*) FROM "in.c-sales"."orders" WHERE id IN (21, 22)').fetchone()[0] == 2
    conn.execute('DELETE FROM "in.c-sales"."orders" WHERE id IN (21, 22)')
print("psycopg ok")

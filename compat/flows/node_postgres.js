#!/usr/bin/env node
// node-postgres (pg 8.23.1, pg-cursor 2.22.1, pg-copy-streams 7.0.0 from compat/node) as an
// application uses it: connect, simple and parameterised queries, the JS values the default type
// parsers give, a cursor read in batches, COPY TO STDOUT / COPY FROM STDIN, transactions, error
// codes and a pool. One JSON line per step on stdout (see compat/README.md).
//
// Values are what the user gets: rows as JS values (Date objects shown as ISO strings, Buffers as
// hex, everything else as JSON would show it) and field type OIDs (built-in type OIDs are the
// same on every PostgreSQL-compatible server, so they are compared as they are). Nothing is
// normalised except: the process runs with TZ=UTC so that a `timestamp without time zone`
// becomes the same Date whatever the runner's local zone, and error values carry only the
// SQLSTATE `code` (what applications branch on), not the server's wording.
'use strict';

process.env.TZ = 'UTC';

const path = require('path');
const fs = require('fs');
const { pipeline } = require('stream/promises');
const { Readable, Writable } = require('stream');

const NM = path.join(__dirname, '..', 'node', 'node_modules');
const pg = require(path.join(NM, 'pg'));
const Cursor = require(path.join(NM, 'pg-cursor'));
const copyStreams = require(path.join(NM, 'pg-copy-streams'));

const TARGET = process.env.COMPAT_TARGET || 'postgres';
const SCHEMA = process.env.COMPAT_SCHEMA || 'in.c-compat';
const QS = '"' + SCHEMA.replace(/"/g, '""') + '"';
const COPY_TABLE = `${QS}.node_copy_${TARGET}`;
const TX_TABLE = `${QS}.node_tx_${TARGET}`;
const STEP_TIMEOUT_MS = 30000;

function emit(rec) {
  process.stdout.write(JSON.stringify(rec) + '\n');
}

function describeError(e) {
  if (!e) return String(e);
  let msg = e.message || String(e);
  if (e.code) msg += ` (${e.code})`;
  return msg;
}

// JS value -> what JSON shows of it, keeping the distinctions a user sees (Date vs string, Buffer).
function show(v) {
  if (v === null || v === undefined) return v === null ? null : '<undefined>';
  if (v instanceof Date) return isNaN(v.getTime()) ? 'Invalid Date' : { Date: v.toISOString() };
  if (Buffer.isBuffer(v)) return { Buffer: v.toString('hex') };
  if (Array.isArray(v)) return v.map(show);
  if (typeof v === 'bigint') return { BigInt: v.toString() };
  if (typeof v === 'number' && !Number.isFinite(v)) return { number: String(v) };
  if (typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[k] = show(v[k]);
    return out;
  }
  return v;
}

function showValue(v) {
  // Adds the JS type, so that "1" (string) and 1 (number) are told apart in the comparison.
  const t = v === null ? 'null' : v instanceof Date ? 'Date' : Buffer.isBuffer(v) ? 'Buffer'
    : Array.isArray(v) ? 'Array' : typeof v;
  return { type: t, value: show(v) };
}

function showResult(res) {
  return {
    command: res.command,
    rowCount: res.rowCount,
    fields: res.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
    rows: res.rows.map(show),
  };
}

let shared = null;

async function client() {
  if (!shared) {
    const c = new pg.Client({ connectionTimeoutMillis: 10000 });
    c.on('error', () => {}); // a dropped connection shows up in the step that uses it
    await c.connect();
    shared = c;
  }
  return shared;
}

function dropShared() {
  if (shared) {
    const c = shared;
    shared = null;
    try { c.connection.stream.destroy(); } catch (e) { /* already gone */ }
  }
}

async function step(name, fn) {
  let timer;
  try {
    const value = await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      }),
    ]);
    emit({ step: name, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    emit({ step: name, ok: false, error: describeError(e) });
    // The next step starts on a fresh connection, so that a step left half done (an open or
    // aborted transaction, a stuck COPY, a lost connection) cannot decide the steps after it.
    dropShared();
  } finally {
    clearTimeout(timer);
  }
}

// A step that must end in a server error: its value is the error's SQLSTATE; succeeding is a failure.
async function expectError(name, fn) {
  await step(name, async () => {
    const c = await client(); // failing to connect is not the error this step expects
    let res;
    try {
      res = await fn(c);
    } catch (e) {
      if (!e.code) throw e; // not a server error (connection lost, ...)
      return { code: e.code, severity: e.severity };
    }
    throw new Error(`expected an error, got ${JSON.stringify(show(res && res.rows))}`);
  });
}

// Each type: a literal in the simple protocol and the same value sent as a parameter.
const TYPES = [
  ['int2', "SELECT 7::int2 AS v", "SELECT $1::int2 AS v", [7]],
  ['int4', "SELECT 2147483647::int4 AS v", "SELECT $1::int4 AS v", [2147483647]],
  ['int8', "SELECT 9007199254740993::int8 AS v", "SELECT $1::int8 AS v", ['9007199254740993']],
  ['numeric', "SELECT 12345.6789::numeric(10,4) AS v", "SELECT $1::numeric AS v", ['12345.6789']],
  ['float4', "SELECT 1.5::float4 AS v", "SELECT $1::float4 AS v", [1.5]],
  ['float8', "SELECT 0.1::float8 AS v", "SELECT $1::float8 AS v", [0.1]],
  ['bool', "SELECT true AS v", "SELECT $1::bool AS v", [true]],
  ['text', "SELECT 'héllo ''x'''::text AS v", "SELECT $1::text AS v", ["héllo 'x'"]],
  ['varchar', "SELECT 'abc'::varchar(10) AS v", "SELECT $1::varchar AS v", ['abc']],
  ['null', "SELECT NULL::int4 AS v", "SELECT $1::int4 AS v", [null]],
  ['date', "SELECT DATE '2024-02-29' AS v", "SELECT $1::date AS v", ['2024-02-29']],
  ['timestamp', "SELECT TIMESTAMP '2024-01-02 03:04:05.678' AS v", "SELECT $1::timestamp AS v",
    [new Date('2024-01-02T03:04:05.678Z')]],
  ['timestamptz', "SELECT TIMESTAMPTZ '2024-01-02 03:04:05+02' AS v", "SELECT $1::timestamptz AS v",
    [new Date('2024-01-02T01:04:05Z')]],
  ['json', `SELECT '{"a": 1, "b": [true, null]}'::json AS v`, "SELECT $1::json AS v", [{ a: 1, b: [true, null] }]],
  ['jsonb', `SELECT '{"a": 1, "b": [true, null]}'::jsonb AS v`, "SELECT $1::jsonb AS v", [JSON.stringify({ a: 1 })]],
  ['int4_array', "SELECT ARRAY[1, 2, NULL]::int4[] AS v", "SELECT $1::int4[] AS v", [[1, 2, null]]],
  ['text_array', "SELECT ARRAY['a', 'b c']::text[] AS v", "SELECT $1::text[] AS v", [['a', 'b c']]],
  ['bytea', "SELECT '\\x01ff'::bytea AS v", "SELECT $1::bytea AS v", [Buffer.from([1, 255])]],
  ['uuid', "SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS v", "SELECT $1::uuid AS v",
    ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']],
  ['interval', "SELECT INTERVAL '1 day 02:03:04' AS v", "SELECT $1::interval AS v", ['1 day 02:03:04']],
];

function showTyped(res) {
  return { dataTypeID: res.fields[0].dataTypeID, ...showValue(res.rows[0].v) };
}

async function main() {
  await step('connect', async () => {
    const c = await client();
    const res = await c.query('SELECT 1 AS one');
    return show(res.rows);
  });

  await step('query.simple_orders', async () =>
    showResult(await (await client()).query(`SELECT * FROM ${QS}.orders ORDER BY id`)));
  await step('query.simple_customers', async () =>
    showResult(await (await client()).query(`SELECT * FROM ${QS}.customers ORDER BY id`)));
  await step('query.events_json_text', async () =>
    showResult(await (await client()).query(`SELECT kind, payload, happened FROM ${QS}.events ORDER BY happened NULLS LAST`)));
  await step('query.view', async () =>
    showResult(await (await client()).query(`SELECT * FROM ${QS}.big_orders ORDER BY id`)));
  await step('query.multi_statement', async () => {
    const res = await (await client()).query(`SELECT 1 AS a; SELECT 'two' AS b`);
    return (Array.isArray(res) ? res : [res]).map(showResult);
  });

  for (const [t, literal, param, values] of TYPES) {
    await step(`types.${t}.literal`, async () => showTyped(await (await client()).query(literal)));
    await step(`types.${t}.param`, async () => showTyped(await (await client()).query(param, values)));
  }

  await step('params.where', async () => showResult(await (await client()).query(
    `SELECT id, amount, ordered_at FROM ${QS}.orders WHERE customer_id = $1 AND amount > $2 ORDER BY id`, [1, '50'])));
  await step('params.where_text_and_date', async () => showResult(await (await client()).query(
    `SELECT id, name FROM ${QS}.customers WHERE country = $1 AND created >= $2 ORDER BY id`, ['US', '2020-06-01'])));
  await step('params.where_timestamp', async () => showResult(await (await client()).query(
    `SELECT id FROM ${QS}.orders WHERE ordered_at >= $1 ORDER BY id`, [new Date('2024-03-01T00:00:00Z')])));
  await step('params.where_in_any', async () => showResult(await (await client()).query(
    `SELECT id FROM ${QS}.orders WHERE id = ANY($1) ORDER BY id`, [[2, 4, 6]])));
  await step('params.where_null', async () => showResult(await (await client()).query(
    `SELECT id FROM ${QS}.orders WHERE note IS NOT DISTINCT FROM $1 ORDER BY id`, [null])));
  await step('params.untyped_text', async () => showResult(await (await client()).query(
    'SELECT $1 AS a, $2 AS b', ['x', 42])));
  await step('params.named_prepared_twice', async () => {
    const c = await client();
    const q = { name: 'compat_orders_by_customer', text: `SELECT id FROM ${QS}.orders WHERE customer_id = $1 ORDER BY id` };
    const a = await c.query({ ...q, values: [1] });
    const b = await c.query({ ...q, values: [2] });
    return [show(a.rows), show(b.rows)];
  });
  await step('params.row_mode_array', async () => {
    const res = await (await client()).query({ text: `SELECT id, note FROM ${QS}.orders ORDER BY id LIMIT 3`, rowMode: 'array' });
    return show(res.rows);
  });

  await step('cursor.batches', async () => {
    const c = await client();
    const cursor = c.query(new Cursor(`SELECT id, amount, note FROM ${QS}.orders ORDER BY id`));
    const batches = [];
    for (;;) {
      const rows = await cursor.read(4);
      batches.push(rows.map(show));
      if (rows.length === 0) break;
    }
    await cursor.close();
    return batches;
  });
  await step('cursor.params_and_close_early', async () => {
    const c = await client();
    const cursor = c.query(new Cursor(`SELECT id FROM ${QS}.orders WHERE amount > $1 ORDER BY id`, [0]));
    const first = await cursor.read(2);
    await cursor.close();
    const after = await c.query('SELECT 1 AS still_usable');
    return { first: show(first), after: show(after.rows) };
  });
  await step('cursor.generate_series', async () => {
    const c = await client();
    const cursor = c.query(new Cursor('SELECT * FROM generate_series(1, 5000) AS g(n)'));
    let count = 0, sum = 0, batches = 0;
    for (;;) {
      const rows = await cursor.read(1000);
      if (rows.length === 0) break;
      batches++;
      for (const r of rows) { count++; sum += Number(r.n); }
    }
    await cursor.close();
    return { count, sum, batches };
  });

  await step('copy.to_stdout', async () => {
    const c = await client();
    const chunks = [];
    const stream = c.query(copyStreams.to(
      `COPY (SELECT id, customer_id, amount, discount, note, ordered_at, shipped_at FROM ${QS}.orders ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)`));
    await pipeline(stream, new Writable({ write(chunk, _enc, cb) { chunks.push(chunk); cb(); } }));
    return { rowCount: stream.rowCount, text: Buffer.concat(chunks).toString('utf8').split('\n') };
  });
  await step('copy.to_stdout_text_format', async () => {
    const c = await client();
    const chunks = [];
    const stream = c.query(copyStreams.to(`COPY ${QS}.customers TO STDOUT`));
    await pipeline(stream, new Writable({ write(chunk, _enc, cb) { chunks.push(chunk); cb(); } }));
    return { rowCount: stream.rowCount, text: Buffer.concat(chunks).toString('utf8').split('\n').sort() };
  });

  try { await (await client()).query(`DROP TABLE IF EXISTS ${COPY_TABLE}`); } catch (e) { /* leftovers only; not a step */ }
  await step('copy.create_table', async () => (await (await client()).query(
    `CREATE TABLE ${COPY_TABLE} (id INTEGER, name TEXT, amount NUMERIC(12,2), happened_at TIMESTAMP, flag BOOLEAN)`)).command);
  await step('copy.from_stdin_csv', async () => {
    const c = await client();
    const stream = c.query(copyStreams.from(`COPY ${COPY_TABLE} FROM STDIN WITH (FORMAT csv, HEADER)`));
    const csv = 'id,name,amount,happened_at,flag\n' +
      '1,plain,1.50,2024-01-02 03:04:05,true\n' +
      '2,"with, comma",-0.25,2024-02-29 23:59:59,false\n' +
      '3,"quote ""q""",,,\n';
    await pipeline(Readable.from([Buffer.from(csv)]), stream);
    return { rowCount: stream.rowCount };
  });
  await step('copy.from_stdin_text', async () => {
    const c = await client();
    const stream = c.query(copyStreams.from(`COPY ${COPY_TABLE} (id, name, amount) FROM STDIN`));
    await pipeline(Readable.from([Buffer.from('4\ttab\\there\t7.00\n5\t\\N\t\\N\n')]), stream);
    return { rowCount: stream.rowCount };
  });
  await step('copy.read_back', async () =>
    showResult(await (await client()).query(`SELECT * FROM ${COPY_TABLE} ORDER BY id`)));
  await step('copy.drop_table', async () => (await (await client()).query(`DROP TABLE ${COPY_TABLE}`)).command);

  try { await (await client()).query(`DROP TABLE IF EXISTS ${TX_TABLE}`); } catch (e) { /* leftovers only; not a step */ }
  await step('tx.create_table', async () => (await (await client()).query(
    `CREATE TABLE ${TX_TABLE} (id INTEGER PRIMARY KEY, label TEXT)`)).command);
  await step('tx.commit', async () => {
    const c = await client();
    const tags = [];
    tags.push((await c.query('BEGIN')).command);
    tags.push((await c.query(`INSERT INTO ${TX_TABLE} VALUES ($1, $2), ($3, $4)`, [1, 'one', 2, 'two'])).rowCount);
    tags.push((await c.query(`UPDATE ${TX_TABLE} SET label = upper(label) WHERE id = $1`, [2])).rowCount);
    tags.push((await c.query('COMMIT')).command);
    const rows = (await c.query(`SELECT * FROM ${TX_TABLE} ORDER BY id`)).rows;
    return { tags, rows: show(rows) };
  });
  await step('tx.rollback', async () => {
    const c = await client();
    const tags = [];
    tags.push((await c.query('BEGIN')).command);
    tags.push((await c.query(`INSERT INTO ${TX_TABLE} VALUES ($1, $2)`, [3, 'three'])).rowCount);
    tags.push((await c.query(`DELETE FROM ${TX_TABLE} WHERE id = $1`, [1])).rowCount);
    const inside = (await c.query(`SELECT count(*) AS n FROM ${TX_TABLE}`)).rows;
    tags.push((await c.query('ROLLBACK')).command);
    const rows = (await c.query(`SELECT * FROM ${TX_TABLE} ORDER BY id`)).rows;
    return { tags, inside: show(inside), rows: show(rows) };
  });
  await expectError('tx.unique_violation', async (c) => c.query(
    `INSERT INTO ${TX_TABLE} VALUES ($1, $2)`, [1, 'dup']));
  await step('tx.failed_transaction', async () => {
    const c = await client();
    await c.query('BEGIN');
    const codes = [];
    for (const sql of [`SELECT nosuch FROM ${TX_TABLE}`, 'SELECT 1']) {
      try { await c.query(sql); codes.push('ok'); } catch (e) { if (!e.code) throw e; codes.push(e.code); }
    }
    codes.push((await c.query('ROLLBACK')).command);
    codes.push(show((await c.query('SELECT 1 AS after')).rows));
    return codes;
  });
  await step('tx.drop_table', async () => (await (await client()).query(`DROP TABLE ${TX_TABLE}`)).command);

  await expectError('error.bad_column', async (c) => c.query(`SELECT nosuch FROM ${QS}.orders`));
  await expectError('error.bad_column_param', async (c) => c.query(
    `SELECT nosuch FROM ${QS}.orders WHERE id = $1`, [1]));
  await expectError('error.bad_table', async (c) => c.query(`SELECT * FROM ${QS}.nosuch`));
  await expectError('error.syntax', async (c) => c.query('SELEC 1'));
  await expectError('error.division_by_zero', async (c) => c.query('SELECT 1 / 0 AS v'));
  await expectError('error.bad_cast', async (c) => c.query("SELECT 'abc'::int4 AS v"));
  await step('error.client_still_usable', async () => show((await (await client()).query('SELECT 2 AS two')).rows));

  await step('pool.parallel', async () => {
    const pool = new pg.Pool({ max: 3, connectionTimeoutMillis: 10000 });
    pool.on('error', () => {});
    try {
      const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) =>
        pool.query(`SELECT $1::int4 AS i, count(*)::int4 AS n FROM ${QS}.orders WHERE customer_id <= $1`, [i])));
      return results.map((r) => show(r.rows[0]));
    } finally {
      await pool.end();
    }
  });
  await step('pool.checkout_transaction', async () => {
    const pool = new pg.Pool({ max: 2, connectionTimeoutMillis: 10000 });
    pool.on('error', () => {});
    try {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const r = await c.query(`SELECT sum(amount) AS total FROM ${QS}.orders`);
        await c.query('COMMIT');
        return show(r.rows);
      } finally {
        c.release();
      }
    } finally {
      await pool.end();
    }
  });

  if (shared) {
    const c = shared;
    shared = null;
    await Promise.race([c.end().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`flow aborted: ${e && e.stack}\n`);
  process.exit(1);
});

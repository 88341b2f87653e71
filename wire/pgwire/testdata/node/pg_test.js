// node-postgres (the npm "pg" package) against a live Coffer server:
// parameterized queries, a transaction committed and one rolled back,
// errors with their SQLSTATE. Run by TestNodePostgres:
//   node pg_test.js host port user password
'use strict';
const assert = require('assert');
const { Client, Pool } = require('pg');

async function main() {
  const [host, port, user, password] = process.argv.slice(2);
  const cfg = { host, port: Number(port), user, password, database: 'postgres' };
  const c = new Client(cfg);
  await c.connect();

  await c.query('CREATE TABLE accounts (id SERIAL PRIMARY KEY, owner TEXT NOT NULL UNIQUE, balance NUMERIC(12,2) NOT NULL, active BOOLEAN DEFAULT true, opened TIMESTAMPTZ)');
  const opened = new Date(Date.UTC(2026, 10, 25, 12, 0, 0));
  const ins = await c.query('INSERT INTO accounts (owner, balance, opened) VALUES ($1, $2, $3) RETURNING id', ['alice', 100.5, opened]);
  assert.strictEqual(ins.rows[0].id, 1);
  await c.query('INSERT INTO accounts (owner, balance, active) VALUES ($1, $2, $3), ($4, $5, $6)', ['bob', '20', false, 'carol', 7.25, true]);

  const sel = await c.query('SELECT owner, balance, active, opened FROM accounts WHERE balance > $1 ORDER BY id', [10]);
  assert.deepStrictEqual(sel.rows.map(r => r.owner), ['alice', 'bob']);
  assert.strictEqual(sel.rows[0].balance, '100.50'); // numeric arrives as a string, as from PostgreSQL
  assert.strictEqual(sel.rows[1].active, false);
  assert.strictEqual(sel.rows[0].opened.getTime(), opened.getTime());
  assert.strictEqual(sel.rowCount, 2);

  // Integer types: int2 and int4 arrive as numbers, int8 as a string,
  // as from PostgreSQL; in the simple protocol and with parameters.
  for (const params of [undefined, [2]]) {
    const q = 'SELECT 1::int AS i, 2::smallint AS s, id, length(owner) AS len, id + 1 AS next, count(*) OVER () AS n FROM accounts WHERE id = ' + (params ? '$1' : '2');
    const r = await c.query(q, params);
    assert.deepStrictEqual(r.fields.map(f => f.dataTypeID), [23, 21, 23, 23, 23, 20]);
    assert.deepStrictEqual(r.rows[0], { i: 1, s: 2, id: 2, len: 3, next: 3, n: '1' });
  }

  // A named prepared statement, run twice.
  const byOwner = { name: 'by-owner', text: 'SELECT id FROM accounts WHERE owner = $1' };
  assert.strictEqual((await c.query({ ...byOwner, values: ['carol'] })).rows[0].id, 3);
  assert.strictEqual((await c.query({ ...byOwner, values: ['bob'] })).rows[0].id, 2);

  // A transaction that commits and one that rolls back.
  await c.query('BEGIN');
  await c.query('UPDATE accounts SET balance = balance - $1 WHERE owner = $2', [50, 'alice']);
  await c.query('UPDATE accounts SET balance = balance + $1 WHERE owner = $2', [50, 'bob']);
  await c.query('COMMIT');
  await c.query('BEGIN');
  await c.query('DELETE FROM accounts WHERE owner = $1', ['carol']);
  await c.query('ROLLBACK');
  const bal = await c.query('SELECT owner, balance FROM accounts ORDER BY owner');
  assert.deepStrictEqual(bal.rows.map(r => `${r.owner}=${r.balance}`), ['alice=50.50', 'bob=70.00', 'carol=7.25']);

  // Errors carry SQLSTATEs; a failed transaction refuses statements.
  const code = async (q, v) => { try { await c.query(q, v); } catch (e) { return e.code; } return 'no error'; };
  assert.strictEqual(await code('INSERT INTO accounts (owner, balance) VALUES ($1, $2)', ['alice', 1]), '23505');
  assert.strictEqual(await code('SELECT * FROM no_such_table'), '42P01');
  assert.strictEqual(await code('SELEC 1'), '42601');
  await c.query('BEGIN');
  assert.strictEqual(await code('INSERT INTO accounts (owner, balance) VALUES ($1, NULL)', ['dave']), '23502');
  assert.strictEqual(await code('SELECT 1'), '25P02');
  await c.query('ROLLBACK');
  await c.end();

  // A pool of connections.
  const pool = new Pool({ ...cfg, max: 3 });
  const counts = await Promise.all([1, 2, 3, 4, 5].map(i => pool.query('SELECT count(*) AS n FROM accounts WHERE id <= $1', [i])));
  // count(*) is bigint, which node-postgres returns as a string.
  assert.deepStrictEqual(counts.map(r => r.rows[0].n), ['1', '2', '3', '3', '3']);
  await pool.end();
  console.log('OK node-postgres');
}

main().catch(e => { console.error(e); process.exit(1); });

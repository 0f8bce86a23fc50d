import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { generateIntoDatabase, importCsv, writeSalesChunk } from '../../src/db/catalogue';
import { addDays, streamHistories } from '../../src/db/forecasts';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { generateCatalogue } from '../../src/forecasting/synthetic';
import { freshDatabase, testDatabaseServerUrl, type TestDatabase } from '../helpers/env';

/** Sales stored as one packed array per SKU (migration 006): migration, writers, the view, the loader. */

const MIGRATIONS = join(__dirname, '..', '..', 'src', 'db', 'migrations');

async function collect(it: AsyncIterable<{ id: string; start: string; y: ArrayLike<number> }>) {
  const out: { id: string; start: string; y: number[] }[] = [];
  for await (const s of it) out.push({ id: s.id, start: s.start, y: Array.from(s.y) });
  return out;
}

describe('migration 006 moves the per-day rows into per-SKU arrays', () => {
  it('keeps every row, gaps stay gaps, and the loader reads what the rows said', async () => {
    const admin = new PgClient({ connectionString: testDatabaseServerUrl() });
    await admin.connect();
    const name = `mig6_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const pool = createPool(testDatabaseServerUrl().replace(/\/[^/]*$/, `/${name}`));
    try {
      // The schema as it was before 006, with rows in the old one-row-per-day table.
      await pool.query('CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const f of ['001_init.sql', '003_forecast_run_batches.sql']) {
        await pool.query(readFileSync(join(MIGRATIONS, f), 'utf8'));
        await pool.query('INSERT INTO schema_migrations (name) VALUES ($1)', [f]);
      }
      await pool.query(`INSERT INTO skus (id) VALUES ('A'), ('B'), ('C')`);
      const rows = [
        ['A', '2024-01-01', 3], ['A', '2024-01-02', 0], ['A', '2024-01-05', 1.25], // a 2-day gap
        ['B', '2023-12-31', 7],
      ] as const;
      await pool.query('INSERT INTO sales SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])', [
        rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]),
      ]);
      expect((await migrate(pool)).applied).toContain('006_sales_history.sql');
      const kinds = await pool.query(`SELECT table_name, table_type FROM information_schema.tables WHERE table_name IN ('sales', 'sales_history') ORDER BY 1`);
      expect(kinds.rows).toEqual([{ table_name: 'sales', table_type: 'VIEW' }, { table_name: 'sales_history', table_type: 'BASE TABLE' }]);
      const after = await pool.query('SELECT sku_id, ds, qty FROM sales ORDER BY sku_id, ds');
      expect(after.rows).toEqual(rows.map(([sku_id, ds, qty]) => ({ sku_id, ds, qty })));
      expect(await collect(streamHistories(pool, ['C', 'B', 'A'], '2024-01-07'))).toEqual([
        { id: 'C', start: '2024-01-06', y: [] },
        { id: 'B', start: '2023-12-31', y: [7, 0, 0, 0, 0, 0, 0] },
        { id: 'A', start: '2024-01-01', y: [3, 0, 0, 0, 1.25, 0] },
      ]);
      // Cut at `before`: only the days before it.
      expect(await collect(streamHistories(pool, ['A'], '2024-01-03'))).toEqual([{ id: 'A', start: '2024-01-01', y: [3, 0] }]);
    } finally {
      await pool.end();
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('writing and reading histories', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db.drop());

  it('generate writes each history whole, and streaming reads them back in order, chunk after chunk', async () => {
    const end = '2024-06-30';
    const r = await generateIntoDatabase(db.pool, { skus: 30, days: 60, seed: 7, end });
    expect(r).toEqual({ skus: 30, rows: 1800, start: addDays(end, -59) });
    const want = [...generateCatalogue({ skus: 30, days: 60, seed: 7, start: r.start })].reverse();
    const got = await collect(streamHistories(db.pool, want.map((s) => s.id), addDays(end, 1), 7)); // 5 chunks
    expect(got).toEqual(want.map((s) => ({ id: s.id, start: r.start, y: Array.from(s.y) })));
  });

  it('merges: a day written again keeps the last value, other days stay, the range grows both ways', async () => {
    await writeSalesChunk(db.pool, { skus: [{ id: 'M', kind: null }], rows: [{ sku: 'M', ds: '2024-03-10', qty: 5 }, { sku: 'M', ds: '2024-03-12', qty: 6 }] });
    await writeSalesChunk(db.pool, { skus: [], rows: [{ sku: 'M', ds: '2024-03-12', qty: 8 }, { sku: 'M', ds: '2024-03-08', qty: 1 }] });
    await writeSalesChunk(db.pool, { skus: [], rows: [], series: [{ sku: 'M', start: '2024-03-13', y: [2, 2] }] });
    // The hand-written INSERT into the view takes the same path.
    await db.pool.query(`INSERT INTO sales (sku_id, ds, qty) VALUES ('M', '2024-03-20', 4)`);
    const { rows } = await db.pool.query(`SELECT ds, qty FROM sales WHERE sku_id = 'M' ORDER BY ds`);
    expect(rows).toEqual([
      { ds: '2024-03-08', qty: 1 }, { ds: '2024-03-10', qty: 5 }, { ds: '2024-03-12', qty: 8 },
      { ds: '2024-03-13', qty: 2 }, { ds: '2024-03-14', qty: 2 }, { ds: '2024-03-20', qty: 4 },
    ]);
    expect(await collect(streamHistories(db.pool, ['M'], '2024-03-22'))).toEqual([
      { id: 'M', start: '2024-03-08', y: [1, 0, 5, 0, 8, 2, 2, 0, 0, 0, 0, 0, 4, 0] },
    ]);
  });

  it('refuses a negative quantity, naming it, and writes nothing of the chunk', async () => {
    await expect(
      writeSalesChunk(db.pool, { skus: [{ id: 'NEG', kind: null }], rows: [{ sku: 'NEG', ds: '2024-01-01', qty: 1 }, { sku: 'NEG', ds: '2024-01-02', qty: -3 }] }),
    ).rejects.toThrow('sales: qty -3 of NEG on 2024-01-02 refused: must be a number >= 0');
    await expect(db.pool.query(`INSERT INTO sales (sku_id, ds, qty) VALUES ('M', '2024-03-21', -1)`)).rejects.toThrow('qty -1 of M on 2024-03-21 refused');
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM skus WHERE id = 'NEG'`)).rows[0].n).toBe(0);
  });

  it('imports a CSV whose SKUs span chunks and arrive out of order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neuro-sales-'));
    const file = join(dir, 'long.csv');
    const lines = ['unique_id,ds,y'];
    // 30,000 rows: more than one import chunk, each SKU's days interleaved with the other's.
    for (let d = 0; d < 15_000; d++) {
      lines.push(`X,${addDays('1990-01-01', 14_999 - d)},${d % 7}`);
      lines.push(`Y,${addDays('1990-01-01', d)},${d % 3}`);
    }
    writeFileSync(file, lines.join('\n') + '\n');
    expect(await importCsv(db.pool, file)).toEqual({ skus: 2, rows: 30_000 });
    const [x, y] = await collect(streamHistories(db.pool, ['X', 'Y'], addDays('1990-01-01', 15_000)));
    expect(x.start).toBe('1990-01-01');
    expect(x.y).toEqual(Array.from({ length: 15_000 }, (_, i) => (14_999 - i) % 7));
    expect(y.y).toEqual(Array.from({ length: 15_000 }, (_, i) => i % 3));
  });
});

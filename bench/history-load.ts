/**
 * History load path benchmark: the same long histories (default 3,000 SKUs x 1,941 days, M5's
 * length) stored the way they were before migration 006 (one `sales` row per SKU and day, loaded
 * with one string_agg query per batch) and the way they are now (one array row per SKU, streamed in
 * chunks by streamHistories), loaded batch by batch, side by side in one run.
 *
 *   npm run bench:history-load [-- --skus 3000 --days 1941 --batch-size 500 --rounds 3]
 *
 * Starts its own PostgreSQL. Rounds alternate the two sides (ABBA) and the best of each counts.
 * Last line: one JSON object with write and load seconds of each side, loadSpeedup (rows / arrays),
 * the M5 projection of both (seconds of load per 30,490 SKUs, linear in SKUs) and table sizes.
 */
import { Client as PgClient, type Pool } from 'pg';
import { writeSalesChunk, type SalesChunk } from '../src/db/catalogue';
import { addDays, dateOfDay, dayNumber, streamHistories } from '../src/db/forecasts';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { generateCatalogue } from '../src/forecasting/synthetic';
import type { SeriesInput } from '../src/forecasting/types';
import { startPostgres } from '../test/helpers/servers';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SKUS = Number(arg('skus', '3000'));
const DAYS = Number(arg('days', '1941'));
const BATCH = Number(arg('batch-size', '500'));
const ROUNDS = Number(arg('rounds', '3'));
const RUN_DATE = '2025-01-01';
const M5_SKUS = 30_490;
const log = (s: string) => console.log(s);

/** The load path before migration 006, verbatim: rows packed per SKU by string_agg, parsed in JS. */
async function loadRows(c: Pool, ids: string[], before: string): Promise<SeriesInput[]> {
  const { rows } = await c.query<{ sku_id: string; first_day: number | null; packed: string | null }>(
    `SELECT b.sku_id, min(s.ds - DATE '2000-01-01') AS first_day,
            string_agg((s.ds - DATE '2000-01-01')::text || ':' || s.qty::text, ',' ORDER BY s.ds) AS packed
     FROM unnest($1::text[]) AS b(sku_id) LEFT JOIN legacy_sales s ON s.sku_id = b.sku_id AND s.ds < $2::date
     GROUP BY b.sku_id ORDER BY b.sku_id`,
    [ids, before],
  );
  const endDay = dayNumber(before);
  return rows.map((r) => {
    const first = Number(r.first_day);
    const y = new Float64Array(endDay - first);
    for (const pair of r.packed!.split(',')) {
      const colon = pair.indexOf(':');
      y[Number(pair.slice(0, colon)) - first] = Number(pair.slice(colon + 1));
    }
    return { id: r.sku_id, start: dateOfDay(first), freqDays: 1, y };
  });
}

async function timed(fn: () => Promise<number>): Promise<{ s: number; checksum: number }> {
  const t0 = performance.now();
  const checksum = await fn();
  return { s: (performance.now() - t0) / 1000, checksum };
}

async function main(): Promise<void> {
  log(`history load: ${SKUS} SKUs x ${DAYS} days, batches of ${BATCH}, rows (before 006) vs per-SKU arrays (006)`);
  const pg = await startPostgres();
  const admin = new PgClient({ connectionString: pg.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const pool = createPool(pg.url.replace(/\/postgres$/, '/bench'), { max: 4 });
  try {
    await migrate(pool);
    await pool.query(`CREATE TABLE legacy_sales (sku_id text NOT NULL, ds date NOT NULL,
      qty double precision NOT NULL CHECK (qty >= 0), PRIMARY KEY (sku_id, ds))`);
    const start = addDays(RUN_DATE, -DAYS);
    let writeRowsS = 0;
    let writeArraysS = 0;
    let chunk: SalesChunk = { skus: [], rows: [], series: [] };
    const flush = async () => {
      const rows = { sku: [] as string[], ds: [] as string[], qty: [] as number[] };
      for (const s of chunk.series!) for (let d = 0; d < s.y.length; d++) { rows.sku.push(s.sku); rows.ds.push(addDays(start, d)); rows.qty.push(s.y[d]); }
      let t0 = performance.now();
      await pool.query('INSERT INTO legacy_sales SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])', [rows.sku, rows.ds, rows.qty]);
      writeRowsS += (performance.now() - t0) / 1000;
      t0 = performance.now();
      await writeSalesChunk(pool, chunk);
      writeArraysS += (performance.now() - t0) / 1000;
      chunk = { skus: [], rows: [], series: [] };
    };
    for (const s of generateCatalogue({ skus: SKUS, days: DAYS, seed: 42, start })) {
      chunk.skus.push({ id: s.id, kind: s.kind });
      chunk.series!.push({ sku: s.id, start, y: s.y });
      if (chunk.series!.length * DAYS >= 50_000) await flush();
    }
    await flush();
    await pool.query('VACUUM ANALYZE legacy_sales');
    await pool.query('VACUUM ANALYZE sales_history');
    log(`written: rows ${writeRowsS.toFixed(1)} s, arrays ${writeArraysS.toFixed(1)} s`);

    const ids = (await pool.query<{ id: string }>('SELECT id FROM skus ORDER BY id')).rows.map((r) => r.id);
    const batches: string[][] = [];
    for (let i = 0; i < ids.length; i += BATCH) batches.push(ids.slice(i, i + BATCH));
    const sum = (s: SeriesInput) => s.y.length + (s.y.length ? s.y[s.y.length - 1] : 0);
    const sides = {
      rows: async () => {
        let cs = 0;
        for (const b of batches) for (const s of await loadRows(pool, b, RUN_DATE)) cs += sum(s);
        return cs;
      },
      arrays: async () => {
        let cs = 0;
        for (const b of batches) for await (const s of streamHistories(pool, b, RUN_DATE)) cs += sum(s);
        return cs;
      },
    };
    const best = { rows: Infinity, arrays: Infinity };
    const checks = new Set<number>();
    for (let r = 0; r < ROUNDS; r++) {
      const order: (keyof typeof sides)[] = r % 2 === 0 ? ['rows', 'arrays'] : ['arrays', 'rows'];
      for (const side of order) {
        const t = await timed(sides[side]);
        checks.add(t.checksum);
        best[side] = Math.min(best[side], t.s);
        log(`round ${r + 1} ${side.padEnd(6)} ${t.s.toFixed(2)} s`);
      }
    }
    if (checks.size !== 1) throw new Error(`the two load paths disagree (checksums ${[...checks].join(', ')})`);
    const size = async (t: string) => Number((await pool.query(`SELECT pg_total_relation_size('${t}') AS n`)).rows[0].n) / 2 ** 20;
    const out = {
      skus: SKUS,
      historyDays: DAYS,
      batchSize: BATCH,
      writeRowsSeconds: +writeRowsS.toFixed(2),
      writeArraysSeconds: +writeArraysS.toFixed(2),
      loadRowsSeconds: +best.rows.toFixed(3),
      loadArraysSeconds: +best.arrays.toFixed(3),
      loadSpeedup: +(best.rows / best.arrays).toFixed(2),
      m5LoadRowsSeconds: +((best.rows * M5_SKUS) / SKUS).toFixed(1),
      m5LoadArraysSeconds: +((best.arrays * M5_SKUS) / SKUS).toFixed(1),
      rowsTableMiB: +(await size('legacy_sales')).toFixed(1),
      arraysTableMiB: +(await size('sales_history')).toFixed(1),
    };
    log(`load: rows ${out.loadRowsSeconds} s, arrays ${out.loadArraysSeconds} s -> ${out.loadSpeedup}x; M5 projection ${out.m5LoadRowsSeconds} s vs ${out.m5LoadArraysSeconds} s`);
    log(JSON.stringify(out));
  } finally {
    await pool.end();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

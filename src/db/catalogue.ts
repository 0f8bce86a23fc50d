import { addDays, parseIsoDate, todayUtc } from '../forecasting/dates';
import { createReadStream, statSync } from 'node:fs';
import type { Pool, PoolClient } from 'pg';
import { readLongCsv, type LongRow } from '../forecasting/long-csv';
import { generateCatalogue } from '../forecasting/synthetic';
import { dateOfDay, dayNumber } from './forecasts';
import { withTransaction } from './pool';

/**
 * Writing the catalogue and its sales history: set-based upserts, one statement per chunk. Sales
 * are stored as one packed array per SKU (migration 006): a chunk's days are merged into it, so a
 * day imported twice keeps its last value and the other days stay.
 */

const CHUNK_ROWS = 20_000;

export interface SalesChunk {
  skus: { id: string; kind: string | null }[];
  /** Single days, in any order. */
  rows: { sku: string; ds: string; qty: number }[];
  /** Whole daily histories from `start` (what the generator makes; cheaper than rows). */
  series?: { sku: string; start: string; y: ArrayLike<number> }[];
}

/** One SKU's days from `first`, NaN where there is no sales row (the stored format of migration 006). */
interface Packed {
  first: number;
  values: Float64Array;
}

function checkQty(sku: string, day: number, q: number): void {
  if (!(q >= 0 && q < Infinity)) throw new Error(`sales: qty ${q} of ${sku} on ${dateOfDay(day)} refused: must be a number >= 0`);
}

/** The chunk's rows and series as one patch per SKU (rows of one SKU and day: the last wins). */
function salesPatches(chunk: SalesChunk): Map<string, Packed> {
  const out = new Map<string, Packed>();
  for (const s of chunk.series ?? []) {
    if (s.y.length === 0) continue;
    const first = dayNumber(s.start);
    for (let i = 0; i < s.y.length; i++) checkQty(s.sku, first + i, s.y[i]);
    out.set(s.sku, overlay(out.get(s.sku), { first, values: Float64Array.from(s.y) }));
  }
  const bySku = new Map<string, Map<number, number>>();
  for (const r of chunk.rows) {
    let days = bySku.get(r.sku);
    if (!days) bySku.set(r.sku, (days = new Map()));
    const d = dayNumber(r.ds);
    checkQty(r.sku, d, r.qty);
    days.set(d, r.qty);
  }
  for (const [sku, days] of bySku) {
    const first = Math.min(...days.keys());
    const values = new Float64Array(Math.max(...days.keys()) - first + 1).fill(NaN);
    for (const [d, q] of days) values[d - first] = q;
    out.set(sku, overlay(out.get(sku), { first, values }));
  }
  return out;
}

/** base with every day of patch that has a value written over it (base undefined = none). */
function overlay(base: Packed | undefined, patch: Packed): Packed {
  if (!base) return patch;
  const first = Math.min(base.first, patch.first);
  const end = Math.max(base.first + base.values.length, patch.first + patch.values.length);
  const values = new Float64Array(end - first).fill(NaN);
  values.set(base.values, base.first - first);
  for (let i = 0; i < patch.values.length; i++) if (!Number.isNaN(patch.values[i])) values[patch.first - first + i] = patch.values[i];
  return { first, values };
}

function encode(values: Float64Array): Buffer {
  const b = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) b.writeDoubleBE(values[i], i * 8);
  return b;
}

function decode(b: Buffer): Float64Array {
  const values = new Float64Array(b.length / 8);
  for (let i = 0; i < values.length; i++) values[i] = b.readDoubleBE(i * 8);
  return values;
}

/**
 * Upserts SKUs and their daily sales: the chunk's days are merged into each SKU's stored array
 * (read under a row lock) and written back in one statement per chunk, not one per row.
 */
export async function writeSalesChunk(client: Pool | PoolClient, chunk: SalesChunk): Promise<void> {
  const patches = salesPatches(chunk);
  if (chunk.skus.length) {
    await client.query(
      `INSERT INTO skus (id, kind) SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (id) DO UPDATE SET kind = COALESCE(EXCLUDED.kind, skus.kind)`,
      [chunk.skus.map((s) => s.id), chunk.skus.map((s) => s.kind)],
    );
  }
  if (patches.size === 0) return;
  const { rows } = await client.query<{ sku_id: string; first_day: number; qty: Buffer }>(
    'SELECT sku_id, first_day, qty FROM sales_history WHERE sku_id = ANY($1::text[]) FOR UPDATE',
    [[...patches.keys()]],
  );
  for (const r of rows) patches.set(r.sku_id, overlay({ first: r.first_day, values: decode(r.qty) }, patches.get(r.sku_id)!));
  const skus = [...patches.keys()];
  const merged = [...patches.values()];
  await client.query(
    `INSERT INTO sales_history (sku_id, first_day, qty) SELECT * FROM unnest($1::text[], $2::int[], $3::bytea[])
     ON CONFLICT (sku_id) DO UPDATE SET first_day = EXCLUDED.first_day, qty = EXCLUDED.qty`,
    [skus, merged.map((p) => p.first), merged.map((p) => encode(p.values))],
  );
}

export interface GenerateOptions {
  skus: number;
  days: number;
  seed: number;
  /** Last day of history (YYYY-MM-DD); default yesterday UTC. */
  end?: string;
}

export function startDateFor(days: number, end?: string): string {
  const last = end === undefined ? addDays(todayUtc(), -1) : parseIsoDate(end, '--end');
  return addDays(last, -(days - 1));
}

/** Generates the synthetic catalogue into the database in one transaction. Returns SKUs written. */
export async function generateIntoDatabase(
  pool: Pool,
  opts: GenerateOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<{ skus: number; rows: number; start: string }> {
  if (!Number.isInteger(opts.skus) || opts.skus < 1) throw new Error(`--skus must be a whole number >= 1, got ${opts.skus}`);
  if (!Number.isInteger(opts.days) || opts.days < 14) throw new Error(`--days must be a whole number >= 14, got ${opts.days}`);
  const start = startDateFor(opts.days, opts.end);
  let rows = 0;
  let done = 0;
  await withTransaction(pool, async (client) => {
    let chunk: SalesChunk = { skus: [], rows: [], series: [] };
    let chunkRows = 0;
    for (const s of generateCatalogue({ skus: opts.skus, days: opts.days, seed: opts.seed, start })) {
      chunk.skus.push({ id: s.id, kind: s.kind });
      chunk.series!.push({ sku: s.id, start, y: s.y });
      chunkRows += s.y.length;
      done++;
      if (chunkRows >= CHUNK_ROWS) {
        await writeSalesChunk(client, chunk);
        rows += chunkRows;
        chunk = { skus: [], rows: [], series: [] };
        chunkRows = 0;
        onProgress?.(done, opts.skus);
      }
    }
    await writeSalesChunk(client, chunk);
    rows += chunkRows;
    onProgress?.(done, opts.skus);
  });
  return { skus: opts.skus, rows, start };
}

/**
 * Imports a long CSV in one transaction while streaming it: rows are written in chunks as they are
 * read, and any bad row anywhere in the file rolls everything back, so nothing is half-imported.
 */
export async function importCsv(
  pool: Pool,
  path: string,
  onProgress?: (bytesRead: number, totalBytes: number, rows: number) => void,
): Promise<{ skus: number; rows: number }> {
  const total = statSync(path).size;
  const stream = createReadStream(path);
  const skus = new Set<string>();
  let rows = 0;
  await withTransaction(pool, async (client) => {
    let chunk: SalesChunk = { skus: [], rows: [] };
    const flush = async () => {
      await writeSalesChunk(client, chunk);
      rows += chunk.rows.length;
      chunk = { skus: [], rows: [] };
      onProgress?.(stream.bytesRead, total, rows);
    };
    for await (const r of readLongCsv(stream, path) as AsyncGenerator<LongRow>) {
      if (!skus.has(r.id)) {
        skus.add(r.id);
        chunk.skus.push({ id: r.id, kind: null });
      }
      chunk.rows.push({ sku: r.id, ds: r.ds, qty: r.y });
      if (chunk.rows.length >= CHUNK_ROWS) await flush();
    }
    await flush();
  });
  return { skus: skus.size, rows };
}

/** How many SKUs the catalogue holds and the days its sales span (the demo reuses a matching catalogue). */
export async function catalogueExtent(pool: Pool): Promise<{ skus: number; first: string | null; last: string | null }> {
  const { rows } = await pool.query<{ skus: number; first: string | null; last: string | null }>(
    // From the arrays' bounds (each starts and ends on a day with a sales row), not the per-day view.
    `SELECT (SELECT count(*)::int FROM skus) AS skus, DATE '2000-01-01' + min(first_day) AS first,
            DATE '2000-01-01' + max(first_day + length(qty) / 8 - 1) AS last FROM sales_history`,
  );
  return rows[0];
}

export async function catalogueSkuIds(pool: Pool): Promise<string[]> {
  return (await pool.query<{ id: string }>('SELECT id FROM skus ORDER BY id')).rows.map((r) => r.id);
}

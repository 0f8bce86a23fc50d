import { addDays, parseIsoDate, todayUtc } from '../forecasting/dates';
import { createReadStream, statSync } from 'node:fs';
import type { Pool, PoolClient } from 'pg';
import { readLongCsv, type LongRow } from '../forecasting/long-csv';
import { generateCatalogue } from '../forecasting/synthetic';
import { withTransaction } from './pool';
import { skuIdProblem } from './sku-id';

/** Writing the catalogue and its sales history: set-based inserts, one statement per chunk. */

const CHUNK_ROWS = 20_000;

export interface SalesChunk {
  skus: { id: string; kind: string | null }[];
  rows: { sku: string; ds: string; qty: number }[];
}

/** Upserts SKUs and their daily sales with unnest() arrays: a round trip per chunk, not per row. */
export async function writeSalesChunk(client: Pool | PoolClient, chunk: SalesChunk): Promise<void> {
  if (chunk.skus.length) {
    await client.query(
      `INSERT INTO skus (id, kind) SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (id) DO UPDATE SET kind = COALESCE(EXCLUDED.kind, skus.kind)`,
      [chunk.skus.map((s) => s.id), chunk.skus.map((s) => s.kind)],
    );
  }
  if (chunk.rows.length) {
    await client.query(
      `INSERT INTO sales (sku_id, ds, qty) SELECT * FROM unnest($1::text[], $2::date[], $3::float8[])
       ON CONFLICT (sku_id, ds) DO UPDATE SET qty = EXCLUDED.qty`,
      [chunk.rows.map((r) => r.sku), chunk.rows.map((r) => r.ds), chunk.rows.map((r) => r.qty)],
    );
  }
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
    let chunk: SalesChunk = { skus: [], rows: [] };
    for (const s of generateCatalogue({ skus: opts.skus, days: opts.days, seed: opts.seed, start })) {
      chunk.skus.push({ id: s.id, kind: s.kind });
      for (let i = 0; i < s.y.length; i++) chunk.rows.push({ sku: s.id, ds: addDays(start, i), qty: s.y[i] });
      done++;
      if (chunk.rows.length >= CHUNK_ROWS) {
        await writeSalesChunk(client, chunk);
        rows += chunk.rows.length;
        chunk = { skus: [], rows: [] };
        onProgress?.(done, opts.skus);
      }
    }
    await writeSalesChunk(client, chunk);
    rows += chunk.rows.length;
    onProgress?.(done, opts.skus);
  });
  return { skus: opts.skus, rows, start };
}

/**
 * Imports a long CSV in one transaction while streaming it: rows are written in chunks as they are
 * read, and any bad row anywhere in the file rolls everything back, so nothing is half-imported.
 * SKU ids must pass the API's rule (src/db/sku-id.ts), so every imported SKU can be asked for.
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
    for await (const r of readLongCsv(stream, path, { checkId: skuIdProblem }) as AsyncGenerator<LongRow>) {
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

import { addDays } from '../forecasting/dates';
import type { Pool, PoolClient } from 'pg';
import type { SeriesInput } from '../forecasting/types';
import { recordRunGc } from './ops';

/**
 * Repository of forecast runs: the run's SKU snapshot cut into batches, batch histories, set-based
 * forecast and accuracy writes, batch and run records. Every write is idempotent so a retried
 * activity never duplicates rows.
 */

type Queryable = Pool | PoolClient;

const DAY_MS = 86_400_000;
const EPOCH = '2000-01-01';
const EPOCH_MS = Date.parse(`${EPOCH}T00:00:00Z`);

export const dayNumber = (isoDate: string): number => Math.round((Date.parse(`${isoDate}T00:00:00Z`) - EPOCH_MS) / DAY_MS);
export const dateOfDay = (day: number): string => new Date(EPOCH_MS + day * DAY_MS).toISOString().slice(0, 10);
export { addDays };

export interface RunSnapshot {
  skus: number;
  batches: number;
}

/** SKUs of the list that are not in the catalogue (at most `limit`). */
export async function unknownSkus(c: Queryable, ids: string[], limit = 10): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>(
    'SELECT DISTINCT s AS id FROM unnest($1::text[]) s WHERE NOT EXISTS (SELECT 1 FROM skus WHERE id = s) ORDER BY 1 LIMIT $2',
    [ids, limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Cuts the catalogue (or the given subset of known SKUs) into batches of batchSize, ordered by SKU
 * id, once per run: a second call for the same run returns the snapshot already taken.
 */
export async function snapshotRunSkus(c: Queryable, runId: string, batchSize: number, subset?: string[]): Promise<RunSnapshot> {
  const existing = await c.query<{ skus: number; batches: number }>(
    'SELECT count(*)::int AS skus, count(DISTINCT batch_index)::int AS batches FROM batch_skus WHERE run_id = $1',
    [runId],
  );
  if (existing.rows[0].skus > 0) return existing.rows[0];
  const inserted = await c.query(
    `INSERT INTO batch_skus (run_id, batch_index, sku_id)
     SELECT $1, ((row_number() OVER (ORDER BY id)) - 1) / $2, id FROM skus
     WHERE $3::text[] IS NULL OR id = ANY($3::text[])`,
    [runId, batchSize, subset ?? null],
  );
  const skus = inserted.rowCount ?? 0;
  return { skus, batches: Math.ceil(skus / batchSize) };
}

export async function batchSkuIds(c: Queryable, runId: string, batchIndex: number): Promise<string[]> {
  const { rows } = await c.query<{ sku_id: string }>(
    'SELECT sku_id FROM batch_skus WHERE run_id = $1 AND batch_index = $2 ORDER BY sku_id',
    [runId, batchIndex],
  );
  return rows.map((r) => r.sku_id);
}

/** Packed days (migration 006: big-endian doubles), from base64, as doubles in this machine's order. */
function decodePacked(base64: string): Float64Array {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes.length); // own, aligned memory for the Float64Array view
  copy.set(bytes);
  if (IS_LITTLE_ENDIAN) Buffer.from(copy.buffer).swap64();
  return new Float64Array(copy.buffer);
}
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** SKUs whose histories are read in one query while the previous chunk is being forecast. */
const HISTORY_CHUNK_SKUS = 250;

/**
 * Daily histories of the given SKUs (in that order), each from its first sales day up to the day
 * before `before`, days without sales as zeros; a SKU with no sales gets y = []. Streams: one query
 * per chunk of SKUs, the next already in flight while the caller works on this one, so memory stays
 * at two chunks whatever the batch size. Each SKU is one packed row (migration 006), cut to `before`
 * by PostgreSQL.
 */
export async function* streamHistories(c: Queryable, skuIds: string[], before: string, chunkSkus = HISTORY_CHUNK_SKUS): AsyncGenerator<SeriesInput> {
  const endDay = dayNumber(before); // exclusive
  const fetchChunk = (ids: string[]): Promise<SeriesInput[]> => {
    const p = readChunk(ids);
    p.catch(() => undefined); // a caller that stops early must not leave an unhandled rejection behind
    return p;
  };
  const readChunk = async (ids: string[]): Promise<SeriesInput[]> => {
    // base64: a third less on the wire than bytea's hex, and much faster to decode here.
    const { rows } = await c.query<{ sku_id: string; first_day: number | null; qty: string | null }>(
      `SELECT t.sku_id, h.first_day, encode(substr(h.qty, 1, 8 * greatest(0, $2::int - h.first_day)), 'base64') AS qty
       FROM unnest($1::text[]) AS t(sku_id) LEFT JOIN sales_history h ON h.sku_id = t.sku_id`,
      [ids, endDay],
    );
    // Put in order here: sorting in SQL would sort the encoded histories too (spilling to disk).
    const bySku = new Map(rows.map((r) => [r.sku_id, r]));
    return ids.map((id) => {
      const r = bySku.get(id)!;
      if (r.first_day === null || !r.qty) return { id: r.sku_id, start: addDays(before, -1), freqDays: 1, y: new Float64Array(0) };
      const stored = decodePacked(r.qty);
      const y = new Float64Array(endDay - r.first_day); // days after the last row stay 0
      for (let i = 0; i < stored.length; i++) if (stored[i] === stored[i]) y[i] = stored[i]; // NaN: no sales row
      return { id: r.sku_id, start: dateOfDay(r.first_day), freqDays: 1, y };
    });
  };
  let next = skuIds.length ? fetchChunk(skuIds.slice(0, chunkSkus)) : undefined;
  for (let from = 0; next; from += chunkSkus) {
    const chunk = await next;
    next = from + chunkSkus < skuIds.length ? fetchChunk(skuIds.slice(from + chunkSkus, from + 2 * chunkSkus)) : undefined;
    yield* chunk;
  }
}

/** Every history of one batch of a run, ordered by SKU id (see streamHistories). */
export async function loadBatchHistories(c: Queryable, runId: string, batchIndex: number, before: string): Promise<SeriesInput[]> {
  const out: SeriesInput[] = [];
  for await (const s of streamHistories(c, await batchSkuIds(c, runId, batchIndex), before)) out.push(s);
  return out;
}

export interface ForecastRows {
  skuIds: string[];
  dates: string[];
  models: string[];
  values: number[];
}

/** One statement for the whole batch (arrays unnested server-side); a retry overwrites, never duplicates. */
export async function upsertForecasts(c: Queryable, environment: string, runId: string, rows: ForecastRows): Promise<number> {
  if (rows.skuIds.length === 0) return 0;
  const res = await c.query(
    `INSERT INTO forecasts (environment, run_id, sku_id, ds, model, value)
     SELECT $1, $2, t.sku_id, t.ds, t.model, t.value
     FROM unnest($3::text[], $4::date[], $5::text[], $6::float8[]) AS t(sku_id, ds, model, value)
     ON CONFLICT (environment, run_id, sku_id, ds) DO UPDATE SET model = EXCLUDED.model, value = EXCLUDED.value`,
    [environment, runId, rows.skuIds, rows.dates, rows.models, rows.values],
  );
  return res.rowCount ?? 0;
}

export interface IntervalRows {
  skuIds: string[];
  dates: string[];
  levels: number[];
  lo: number[];
  hi: number[];
}

/** The batch's interval bounds, one statement like upsertForecasts; a retry overwrites. */
export async function upsertIntervals(c: Queryable, environment: string, runId: string, rows: IntervalRows): Promise<number> {
  if (rows.skuIds.length === 0) return 0;
  const res = await c.query(
    `INSERT INTO forecast_intervals (environment, run_id, sku_id, ds, level, lo, hi)
     SELECT $1, $2, t.sku_id, t.ds, t.level, t.lo, t.hi
     FROM unnest($3::text[], $4::date[], $5::float8[], $6::float8[], $7::float8[]) AS t(sku_id, ds, level, lo, hi)
     ON CONFLICT (environment, run_id, sku_id, ds, level) DO UPDATE SET lo = EXCLUDED.lo, hi = EXCLUDED.hi`,
    [environment, runId, rows.skuIds, rows.dates, rows.levels, rows.lo, rows.hi],
  );
  return res.rowCount ?? 0;
}

/** The interval levels a run stores (empty for none, or a run from before intervals). */
export async function runIntervalLevels(c: Queryable, runId: string): Promise<number[]> {
  const { rows } = await c.query<{ interval_levels: number[] }>('SELECT interval_levels FROM forecast_runs WHERE id = $1', [runId]);
  return rows[0]?.interval_levels ?? [];
}

export interface BatchRecord {
  runId: string;
  batchIndex: number;
  skus: number;
  attempt: number;
  durationMs: number;
  peakRssMb: number;
  /** GC pauses and RSS at start and end of the batch (migration 008). */
  gc?: { count: number; totalMs: number; maxMs: number };
  rssStartMb?: number;
  rssEndMb?: number;
}

/** First writer wins: a batch is recorded once, with the attempt that wrote it. */
export async function recordBatch(c: Queryable, b: BatchRecord): Promise<void> {
  await c.query(
    `INSERT INTO forecast_batches (run_id, batch_index, skus, attempt, duration_ms, peak_rss_mb, gc_count, gc_total_ms, gc_max_ms, rss_start_mb, rss_end_mb)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_id, batch_index) DO NOTHING`,
    [b.runId, b.batchIndex, b.skus, b.attempt, b.durationMs, b.peakRssMb, b.gc?.count ?? null, b.gc?.totalMs ?? null, b.gc?.maxMs ?? null, b.rssStartMb ?? null, b.rssEndMb ?? null],
  );
}

export async function findBatch(c: Queryable, runId: string, batchIndex: number): Promise<BatchRecord | undefined> {
  const { rows } = await c.query(
    'SELECT skus, attempt, duration_ms, peak_rss_mb FROM forecast_batches WHERE run_id = $1 AND batch_index = $2',
    [runId, batchIndex],
  );
  const r = rows[0];
  return r && { runId, batchIndex, skus: r.skus, attempt: r.attempt, durationMs: r.duration_ms, peakRssMb: r.peak_rss_mb ?? 0 };
}

/** Models chosen for a recorded batch, read back from its forecasts (for a batch already done). */
export async function batchModelCounts(c: Queryable, environment: string, runId: string, batchIndex: number): Promise<Record<string, number>> {
  const { rows } = await c.query<{ model: string; n: number }>(
    `SELECT f.model, count(DISTINCT f.sku_id)::int AS n FROM batch_skus b
     JOIN forecasts f ON f.environment = $1 AND f.run_id = b.run_id AND f.sku_id = b.sku_id
     WHERE b.run_id = $2 AND b.batch_index = $3 GROUP BY f.model`,
    [environment, runId, batchIndex],
  );
  return Object.fromEntries(rows.map((r) => [r.model, r.n]));
}

// ---- run records -------------------------------------------------------------------------------

export interface NewRun {
  id: string;
  environment: string;
  runDate: string;
  skus: number;
  batches: number;
  batchDelayMs: number;
  horizon: number;
  policy: string;
  /** Interval levels the run stores (FORECAST_INTERVAL_LEVELS); default none. */
  intervalLevels?: number[];
  /** class-best: the class_model_tables row the run used (none: class defaults). */
  classTableId?: string;
}

export async function insertRun(c: Queryable, r: NewRun): Promise<void> {
  await c.query(
    `INSERT INTO forecast_runs (id, environment, run_date, status, skus, batches, batch_delay_ms, horizon, policy, interval_levels, class_table_id)
     VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
    [r.id, r.environment, r.runDate, r.skus, r.batches, r.batchDelayMs, r.horizon, r.policy, r.intervalLevels ?? [], r.classTableId ?? null],
  );
}

export interface ForecastedStats {
  forecastMs: number;
  totalDelayMs: number;
  batchDelayMs: number;
  peakRssMb: number;
  peakMemoryPct: number;
  modelCounts: Record<string, number>;
}

/**
 * The forecasts are all written: record the forecasting phase and make this run the one the API
 * serves, in one transaction.
 */
export async function markForecasted(pool: Pool, environment: string, runId: string, s: ForecastedStats): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(
      `UPDATE forecast_runs SET status = 'forecasted', forecast_ms = $2, duration_ms = $2, total_delay_ms = $3,
         batch_delay_ms = $4, peak_rss_mb = $5, peak_memory_pct = $6, model_counts = $7 WHERE id = $1`,
      [runId, s.forecastMs, s.totalDelayMs, s.batchDelayMs, s.peakRssMb, s.peakMemoryPct, JSON.stringify(s.modelCounts)],
    );
    await recordRunGc(c, runId);
    await c.query(
      `INSERT INTO current_forecast_run (environment, run_id) VALUES ($1, $2)
       ON CONFLICT (environment) DO UPDATE SET run_id = EXCLUDED.run_id, updated_at = now()`,
      [environment, runId],
    );
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

export interface RunCompletion {
  durationMs: number;
  preloadKeys: number | null;
  accuracySource: string;
  mape: number | null;
  wape: number | null;
  mase: number | null;
  outlierSkus: string[];
  outlierCount: number;
}

export async function markCompleted(c: Queryable, runId: string, r: RunCompletion): Promise<void> {
  await c.query(
    `UPDATE forecast_runs SET status = 'completed', finished_at = now(), duration_ms = $2, preload_keys = $3,
       accuracy_source = $4, mape = $5, wape = $6, mase = $7, outlier_skus = $8, outlier_count = $9 WHERE id = $1`,
    [runId, r.durationMs, r.preloadKeys, r.accuracySource, r.mape, r.wape, r.mase, JSON.stringify(r.outlierSkus), r.outlierCount],
  );
}

export async function markFailed(c: Queryable, runId: string, error: string): Promise<void> {
  await c.query(`UPDATE forecast_runs SET status = 'failed', finished_at = now(), error = $2 WHERE id = $1`, [runId, error]);
}

export interface RunRecord {
  id: string;
  environment: string;
  runDate: string;
  status: string;
  skus: number;
  batches: number;
  batchDelayMs: number;
  totalDelayMs: number | null;
  durationMs: number | null;
  forecastMs: number | null;
  peakRssMb: number | null;
  peakMemoryPct: number | null;
  modelCounts: Record<string, number> | null;
  mape: number | null;
  wape: number | null;
  outlierSkus: string[] | null;
  error: string | null;
}

export async function getRun(c: Queryable, runId: string): Promise<RunRecord | undefined> {
  const { rows } = await c.query('SELECT * FROM forecast_runs WHERE id = $1', [runId]);
  const r = rows[0];
  return (
    r && {
      id: r.id,
      environment: r.environment,
      runDate: r.run_date,
      status: r.status,
      skus: r.skus,
      batches: r.batches,
      batchDelayMs: r.batch_delay_ms,
      totalDelayMs: r.total_delay_ms,
      durationMs: r.duration_ms,
      forecastMs: r.forecast_ms,
      peakRssMb: r.peak_rss_mb,
      peakMemoryPct: r.peak_memory_pct,
      modelCounts: r.model_counts,
      mape: r.mape,
      wape: r.wape,
      outlierSkus: r.outlier_skus,
      error: r.error,
    }
  );
}

// ---- accuracy ----------------------------------------------------------------------------------

export interface AccuracyRows {
  skuIds: string[];
  models: string[];
  classes: (string | null)[];
  mape: (number | null)[];
  wape: (number | null)[];
  mase: (number | null)[];
}

export async function upsertAccuracy(c: Queryable, environment: string, runId: string, rows: AccuracyRows): Promise<number> {
  if (rows.skuIds.length === 0) return 0;
  const res = await c.query(
    `INSERT INTO sku_accuracy (environment, run_id, sku_id, model, demand_class, mape, wape, mase)
     SELECT $1, $2, t.* FROM unnest($3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::float8[])
       AS t(sku_id, model, demand_class, mape, wape, mase)
     ON CONFLICT (environment, run_id, sku_id) DO UPDATE SET model = EXCLUDED.model, demand_class = EXCLUDED.demand_class,
       mape = EXCLUDED.mape, wape = EXCLUDED.wape, mase = EXCLUDED.mase, created_at = now()`,
    [environment, runId, rows.skuIds, rows.models, rows.classes, rows.mape, rows.wape, rows.mase],
  );
  return res.rowCount ?? 0;
}

export interface StoredAccuracy {
  runId: string;
  skus: number;
  mape: number | null;
  wape: number | null;
  mase: number | null;
  outlierCount: number;
  outlierSkus: string[];
}

/** The run id of the environment's most recent stored backtest, if any. */
export async function latestAccuracyRun(c: Queryable, environment: string): Promise<string | undefined> {
  const { rows } = await c.query<{ run_id: string }>('SELECT run_id FROM sku_accuracy WHERE environment = $1 ORDER BY created_at DESC LIMIT 1', [environment]);
  return rows[0]?.run_id;
}

/** Summary of the environment's most recent stored backtest (per-SKU mean MAPE, as the plan reports it). */
export async function latestAccuracy(c: Queryable, environment: string, outlierThreshold: number): Promise<StoredAccuracy | undefined> {
  const runId = await latestAccuracyRun(c, environment);
  if (!runId) return undefined;
  const { rows } = await c.query(
    `SELECT count(*)::int AS skus, avg(mape) AS mape, avg(wape) AS wape, avg(mase) AS mase,
            count(*) FILTER (WHERE mape > $3)::int AS outliers,
            (SELECT coalesce(json_agg(sku_id ORDER BY mape DESC), '[]') FROM
               (SELECT sku_id, mape FROM sku_accuracy WHERE environment = $1 AND run_id = $2 AND mape > $3 ORDER BY mape DESC LIMIT 20) o) AS top
     FROM sku_accuracy WHERE environment = $1 AND run_id = $2`,
    [environment, runId, outlierThreshold],
  );
  const r = rows[0];
  return { runId, skus: r.skus, mape: r.mape, wape: r.wape, mase: r.mase, outlierCount: r.outliers, outlierSkus: r.top };
}

/** Per-SKU backtest MAPE of a run (SKUs with one), for the cycle's charts. */
export async function runSkuMape(c: Queryable, environment: string, runId: string): Promise<{ sku: string; model: string; mape: number }[]> {
  const { rows } = await c.query<{ sku: string; model: string; mape: number }>(
    'SELECT sku_id AS sku, model, mape FROM sku_accuracy WHERE environment = $1 AND run_id = $2 AND mape IS NOT NULL',
    [environment, runId],
  );
  return rows;
}

export async function runBatchDurations(c: Queryable, runId: string): Promise<{ index: number; durationMs: number; skus: number }[]> {
  const { rows } = await c.query<{ index: number; durationMs: number; skus: number }>(
    'SELECT batch_index AS index, duration_ms AS "durationMs", skus FROM forecast_batches WHERE run_id = $1 ORDER BY batch_index',
    [runId],
  );
  return rows;
}

import type { Pool } from 'pg';
import { getEnvironmentConfig } from '../config/store';
import { currentRunId, forecastKey, runSkus, warmKeys } from './forecasts';
import { rankedQueries, type TopQuery } from './query-log';
import type { ForecastCache } from './types';

/** Cache warming: the post-run preload (every SKU) and the prefetch (the most asked-for queries). */

export interface PreloadResult {
  keys: number;
  durationMs: number;
}

/**
 * Writes every SKU of a run at the environment's default horizon into the cache, pipelined. With
 * ENABLE_PREDICTIVE_PREFETCH it also warms the run's top queries at other horizons (the same
 * selection as a prefetch): a new run invalidates them, and without this they would all miss
 * until the 11:28 prefetch.
 */
export async function preloadRun(pool: Pool, cache: ForecastCache, environment: string, runId: string, now?: Date): Promise<PreloadResult> {
  const started = performance.now();
  const config = await getEnvironmentConfig(pool, environment);
  const skus = await runSkus(pool, environment, runId);
  const horizon = config.FORECAST_HORIZON_DAYS;
  let keys = await warmKeys(pool, cache, environment, runId, skus.map((sku) => ({ sku, horizon })), config.CACHE_TTL_SECONDS);
  if (config.ENABLE_PREDICTIVE_PREFETCH) {
    const top = await uncachedTopQueries(pool, cache, environment, runId, config.PREFETCH_TOP_N_QUERIES, config.PREFETCH_INCLUDE_RECENT, now);
    if (top.length) keys += await warmKeys(pool, cache, environment, runId, top, config.CACHE_TTL_SECONDS);
  }
  return { keys, durationMs: performance.now() - started };
}

export type PrefetchTrigger = 'schedule' | 'manual' | 'post-deploy' | 'rollout';

export interface PrefetchRunInput {
  prefetchId: string;
  environment: string;
  trigger: PrefetchTrigger;
  topN: number;
  includeRecent: boolean;
  /** Analysis time (tests and the benchmark replay compressed days); default now. */
  now?: Date;
}

export interface PrefetchOutcome {
  prefetchId: string;
  status: 'completed' | 'no-forecasts';
  queries: number;
  keysWarmed: number;
  durationMs: number;
  /** Growth of the cache's memory, percent of what it used before. */
  memoryImpactPct: number;
  runId: string | null;
  top: TopQuery[];
}

/**
 * The prefetch itself: top-N analysis, warm those keys for the current run, record it in
 * prefetch_runs. The N slots go to the most frequent queries that are NOT already cached for the
 * current run: the daily preload holds every SKU at the default horizon, so the plain top-N by
 * count would mostly re-write keys that cannot miss, and the queries that do miss (other
 * horizons, new patterns) would never be warmed. Both windows (30 days; last 24 h when
 * includeRecent) get N slots each.
 */
export async function runPrefetch(pool: Pool, cache: ForecastCache, input: PrefetchRunInput): Promise<PrefetchOutcome> {
  const started = performance.now();
  await pool.query(
    `INSERT INTO prefetch_runs (id, environment, trigger, top_n, include_recent, status) VALUES ($1, $2, $3, $4, $5, 'running')
     ON CONFLICT (id) DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL`,
    [input.prefetchId, input.environment, input.trigger, input.topN, input.includeRecent],
  );
  const memoryBefore = await cache.memoryBytes().catch(() => 0);
  const runId = await currentRunId(pool, input.environment);
  const top: TopQuery[] = [];
  let keysWarmed = 0;
  if (runId) {
    top.push(...(await uncachedTopQueries(pool, cache, input.environment, runId, input.topN, input.includeRecent, input.now)));
    const ttl = (await getEnvironmentConfig(pool, input.environment)).CACHE_TTL_SECONDS;
    if (top.length) keysWarmed = await warmKeys(pool, cache, input.environment, runId, top, ttl);
  }
  const memoryAfter = await cache.memoryBytes().catch(() => 0);
  const memoryImpactPct = memoryBefore > 0 ? ((memoryAfter - memoryBefore) / memoryBefore) * 100 : 0;
  const durationMs = performance.now() - started;
  const status = runId ? 'completed' : 'no-forecasts';
  await pool.query(
    `UPDATE prefetch_runs SET keys_warmed = $2, duration_ms = $3, memory_impact_pct = $4, status = $5, finished_at = now() WHERE id = $1`,
    [input.prefetchId, keysWarmed, durationMs, memoryImpactPct, status],
  );
  return { prefetchId: input.prefetchId, status, queries: top.length, keysWarmed, durationMs, memoryImpactPct, runId, top };
}

/** Per window (30 days; last 24 h when includeRecent), the topN most frequent queries not cached for the run. */
async function uncachedTopQueries(
  pool: Pool,
  cache: ForecastCache,
  environment: string,
  runId: string,
  topN: number,
  includeRecent: boolean,
  now?: Date,
): Promise<TopQuery[]> {
  const top: TopQuery[] = [];
  const limit = Math.max(5000, topN * 100);
  for (const w of includeRecent ? (['30d', '24h'] as const) : (['30d'] as const)) {
    const ranked = await rankedQueries(pool, environment, w, limit, now);
    const picked = new Set(top.map((q) => `${q.sku}\n${q.horizon}`));
    top.push(...(await notCached(cache, environment, runId, ranked.filter((q) => !picked.has(`${q.sku}\n${q.horizon}`)), topN)));
  }
  return top;
}

/** The first topN candidates whose cached value is missing or belongs to another run. */
async function notCached(cache: ForecastCache, environment: string, runId: string, candidates: TopQuery[], topN: number): Promise<TopQuery[]> {
  const values = await cache.mget(candidates.map((q) => forecastKey(environment, q.sku, q.horizon))).catch(() => candidates.map(() => null));
  const out: TopQuery[] = [];
  for (let i = 0; i < candidates.length && out.length < topN; i++) {
    const v = values[i];
    if (v === null || (JSON.parse(v) as { runId?: string }).runId !== runId) out.push(candidates[i]);
  }
  return out;
}

/** A prefetch that did not run (ENABLE_PREDICTIVE_PREFETCH=false) still leaves a row saying why. */
export async function recordSkippedPrefetch(
  pool: Pool,
  input: Omit<PrefetchRunInput, 'now'> & { reason: string },
): Promise<void> {
  await pool.query(
    `INSERT INTO prefetch_runs (id, environment, trigger, top_n, include_recent, keys_warmed, duration_ms, status, finished_at)
     VALUES ($1, $2, $3, $4, $5, 0, 0, $6, now())
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, finished_at = now()`,
    [input.prefetchId, input.environment, input.trigger, input.topN, input.includeRecent, `skipped: ${input.reason}`],
  );
}

import type { Pool } from 'pg';
import { getEnvironmentConfig } from '../config/store';
import { currentRunId, runSkus, warmKeys } from './forecasts';
import { topQueries, type TopQuery } from './query-log';
import type { ForecastCache } from './types';

/** Cache warming: the post-run preload (every SKU) and the prefetch (the most asked-for queries). */

export interface PreloadResult {
  keys: number;
  durationMs: number;
}

/** Writes every SKU of a run at the environment's default horizon into the cache, pipelined. */
export async function preloadRun(pool: Pool, cache: ForecastCache, environment: string, runId: string): Promise<PreloadResult> {
  const started = performance.now();
  const config = await getEnvironmentConfig(pool, environment);
  const skus = await runSkus(pool, environment, runId);
  const horizon = config.FORECAST_HORIZON_DAYS;
  const keys = await warmKeys(pool, cache, environment, runId, skus.map((sku) => ({ sku, horizon })), config.CACHE_TTL_SECONDS);
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

/** The prefetch itself: top-N analysis, warm those keys for the current run, record it in prefetch_runs. */
export async function runPrefetch(pool: Pool, cache: ForecastCache, input: PrefetchRunInput): Promise<PrefetchOutcome> {
  const started = performance.now();
  await pool.query(
    `INSERT INTO prefetch_runs (id, environment, trigger, top_n, include_recent, status) VALUES ($1, $2, $3, $4, $5, 'running')
     ON CONFLICT (id) DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL`,
    [input.prefetchId, input.environment, input.trigger, input.topN, input.includeRecent],
  );
  const memoryBefore = await cache.memoryBytes().catch(() => 0);
  const top = await topQueries(pool, input.environment, { topN: input.topN, includeRecent: input.includeRecent, now: input.now });
  const runId = await currentRunId(pool, input.environment);
  let keysWarmed = 0;
  if (runId && top.length) {
    const ttl = (await getEnvironmentConfig(pool, input.environment)).CACHE_TTL_SECONDS;
    keysWarmed = await warmKeys(pool, cache, input.environment, runId, top, ttl);
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

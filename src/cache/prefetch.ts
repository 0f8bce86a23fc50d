import { memoryLimitBytes } from '../config/memory';
import type { Pool } from 'pg';
import { getEnvironmentConfig } from '../db/config-store';
import { finishPrefetchRun, insertSkippedPrefetch, startPrefetchRun } from '../db/cache-records';
import { currentRunId, runSkus } from '../db/served-forecasts';
import { forecastKey, warmKeys } from './forecasts';
import { popularHorizons, rankedQueries, topSkus, type TopQuery } from '../db/query-log';
import type { ForecastCache } from './types';

/**
 * Cache warming: the post-run preload (every SKU) and the prefetch: the most asked-for queries,
 * plus a pattern expansion that predicts queries never asked before — each popular non-default
 * horizon for each of the PREFETCH_PATTERN_SKUS most-queried SKUs.
 */

export interface PreloadResult {
  keys: number;
  durationMs: number;
}

/**
 * Writes every SKU of a run at the environment's default horizon into the cache, pipelined. With
 * ENABLE_PREDICTIVE_PREFETCH it also warms the run's top queries and pattern expansion (the same
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
    const { top, expansion } = await prefetchSelection(pool, cache, environment, runId, {
      topN: config.PREFETCH_TOP_N_QUERIES,
      includeRecent: config.PREFETCH_INCLUDE_RECENT,
      patternSkus: config.PREFETCH_PATTERN_SKUS,
      defaultHorizon: horizon,
      now,
    });
    keys += await warmKeys(pool, cache, environment, runId, [...top, ...expansion], config.CACHE_TTL_SECONDS);
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
  /** Top SKUs that get every popular non-default horizon warmed; 0 = top-N only. Default: PREFETCH_PATTERN_SKUS. */
  patternSkus?: number;
  /** Analysis time (tests and the benchmark replay compressed days); default now. */
  now?: Date;
}

/** What a prefetch warmed and what it cost: shared by the cache, its activity and the workflow result. */
export interface PrefetchCounts {
  runId: string | null;
  queries: number;
  keysWarmed: number;
  /** Of keysWarmed: from the top-N query lists, and from the pattern expansion. */
  topKeys: number;
  patternKeys: number;
  /** The popular non-default horizons the expansion warmed for the top SKUs. */
  patternHorizons: number[];
  durationMs: number;
  /** Memory the cache grew by, percent of the memory limit (as the plan reports memory impact). */
  memoryImpactPct: number;
}

export interface PrefetchOutcome extends PrefetchCounts {
  prefetchId: string;
  status: 'completed' | 'no-forecasts';
  top: TopQuery[];
}

/**
 * The prefetch itself: top-N analysis plus pattern expansion, warm those keys for the current run,
 * record it in prefetch_runs. The N slots go to the most frequent queries that are NOT already cached for the
 * current run: the daily preload holds every SKU at the default horizon, so the plain top-N by
 * count would mostly re-write keys that cannot miss, and the queries that do miss (other
 * horizons, new patterns) would never be warmed. Both windows (30 days; last 24 h when
 * includeRecent) get N slots each. Most of what still misses after that is a (SKU, horizon) never
 * asked before, which no list of past queries holds; the pattern expansion predicts those.
 */
export async function runPrefetch(pool: Pool, cache: ForecastCache, input: PrefetchRunInput): Promise<PrefetchOutcome> {
  const started = performance.now();
  await startPrefetchRun(pool, input);
  const memoryBefore = await cache.memoryBytes().catch(() => 0);
  const config = await getEnvironmentConfig(pool, input.environment);
  const runId = await currentRunId(pool, input.environment);
  let selection: PrefetchSelection = { top: [], expansion: [], horizons: [] };
  let topKeys = 0;
  let patternKeys = 0;
  if (runId) {
    selection = await prefetchSelection(pool, cache, input.environment, runId, {
      ...input,
      patternSkus: input.patternSkus ?? config.PREFETCH_PATTERN_SKUS,
      defaultHorizon: config.FORECAST_HORIZON_DAYS,
    });
    topKeys = await warmKeys(pool, cache, input.environment, runId, selection.top, config.CACHE_TTL_SECONDS);
    patternKeys = await warmKeys(pool, cache, input.environment, runId, selection.expansion, config.CACHE_TTL_SECONDS);
  }
  const keysWarmed = topKeys + patternKeys;
  const memoryAfter = await cache.memoryBytes().catch(() => 0);
  // As the plan reports it: growth against the memory limit, the same denominator as peak memory %.
  const memoryLimit = memoryLimitBytes(config.MEMORY_LIMIT_MB).bytes;
  const memoryImpactPct = ((memoryAfter - memoryBefore) / memoryLimit) * 100;
  const durationMs = performance.now() - started;
  const status = runId ? 'completed' : 'no-forecasts';
  await finishPrefetchRun(pool, { prefetchId: input.prefetchId, keysWarmed, durationMs, memoryImpactPct, status });
  return {
    prefetchId: input.prefetchId,
    status,
    queries: selection.top.length,
    keysWarmed,
    topKeys,
    patternKeys,
    patternHorizons: selection.horizons,
    durationMs,
    memoryImpactPct,
    runId,
    top: selection.top,
  };
}

interface PrefetchSelection {
  top: TopQuery[];
  expansion: { sku: string; horizon: number }[];
  horizons: number[];
}

/**
 * What a prefetch warms, none of it already cached for the run: the top-N queries per window, then
 * each popular non-default horizon for each of the patternSkus most-queried SKUs (bounded:
 * patternSkus x popular horizons keys at most).
 */
async function prefetchSelection(
  pool: Pool,
  cache: ForecastCache,
  environment: string,
  runId: string,
  o: { topN: number; includeRecent: boolean; patternSkus: number; defaultHorizon: number; now?: Date },
): Promise<PrefetchSelection> {
  const top = await uncachedTopQueries(pool, cache, environment, runId, o.topN, o.includeRecent, o.now);
  if (o.patternSkus <= 0) return { top, expansion: [], horizons: [] };
  const horizons = await popularHorizons(pool, environment, o);
  const skus = horizons.length ? await topSkus(pool, environment, { k: o.patternSkus, includeRecent: o.includeRecent, now: o.now }) : [];
  const picked = new Set(top.map((q) => `${q.sku}\n${q.horizon}`));
  const candidates = horizons.flatMap((horizon) => skus.map((sku) => ({ sku, horizon }))).filter((q) => !picked.has(`${q.sku}\n${q.horizon}`));
  return { top, expansion: await notCached(cache, environment, runId, candidates, candidates.length), horizons };
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
async function notCached<Q extends { sku: string; horizon: number }>(cache: ForecastCache, environment: string, runId: string, candidates: Q[], topN: number): Promise<Q[]> {
  const values = await cache.mget(candidates.map((q) => forecastKey(environment, q.sku, q.horizon))).catch(() => candidates.map(() => null));
  const out: Q[] = [];
  for (let i = 0; i < candidates.length && out.length < topN; i++) {
    const v = values[i];
    if (v === null || (JSON.parse(v) as { runId?: string }).runId !== runId) out.push(candidates[i]);
  }
  return out;
}

/** A prefetch that did not run (ENABLE_PREDICTIVE_PREFETCH=false) still leaves a row saying why. */
export async function recordSkippedPrefetch(
  pool: Pool,
  input: Omit<PrefetchRunInput, 'now' | 'patternSkus'> & { reason: string },
): Promise<void> {
  await insertSkippedPrefetch(pool, input);
}

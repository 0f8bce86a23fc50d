import { Context } from '@temporalio/activity';
import { preloadRun, recordSkippedPrefetch, runPrefetch, type PrefetchCounts, type PrefetchRunInput, type PrefetchTrigger } from '../cache/prefetch';
import { parseEnvironment } from '../config/schema';
import { appMetrics } from '../ops/metrics';
import type { ActivityDeps } from './deps';
import { BadInputError } from './errors';

/** The activity's input: the cache's prefetch input without the test-only clock. */
export type PrefetchActivityInput = Omit<PrefetchRunInput, 'now'>;

export interface PrefetchActivityResult extends PrefetchCounts {
  status: 'completed' | 'no-forecasts';
  /** The first few warmed queries, for the Web UI; the full list is in the query log analysis. */
  sample: { sku: string; horizon: number; hits: number }[];
}

const TRIGGERS: PrefetchTrigger[] = ['schedule', 'manual', 'post-deploy', 'rollout'];

function checkPrefetchInput(input: PrefetchActivityInput): void {
  parseEnvironment(input.environment);
  if (!TRIGGERS.includes(input.trigger)) throw new BadInputError(`trigger "${input.trigger}" unknown (known: ${TRIGGERS.join(', ')})`);
  if (!Number.isInteger(input.topN) || input.topN < 1) throw new BadInputError(`topN must be a whole number >= 1, got ${input.topN}`);
  const k = input.patternSkus;
  if (k !== undefined && (!Number.isInteger(k) || k < 0 || k > 100_000)) throw new BadInputError(`patternSkus must be a whole number 0..100000, got ${input.patternSkus}`);
}

/** How often a prefetch heartbeats; the workflow's heartbeat timeout is a few times this. */
const PREFETCH_HEARTBEAT_MS = 1000;

/**
 * Heartbeats every PREFETCH_HEARTBEAT_MS while fn runs (its work is I/O, so the event loop stays
 * free for the timer), like forecastBatch: a worker killed mid-prefetch is noticed after the
 * heartbeat timeout and the prefetch retried on another worker within seconds, instead of after
 * the 2-minute start-to-close timeout, which would run past the peak it prepares for.
 */
async function heartbeating<T>(fn: () => Promise<T>, details: () => unknown): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), PREFETCH_HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

export function createCacheActivities({ pool, cache }: ActivityDeps) {
  return {
    /** After a forecast run: every SKU of the run at the default horizon into the cache, pipelined. */
    async preloadForecasts(input: { environment: string; runId: string }): Promise<{ keys: number; durationMs: number }> {
      parseEnvironment(input.environment);
      if (!input.runId) throw new BadInputError('runId is required');
      return preloadRun(pool, cache, input.environment, input.runId);
    },

    /** Top-N query analysis + pattern expansion, warm those keys, record duration / keys / memory impact in prefetch_runs. */
    async prefetchTopQueries(input: PrefetchActivityInput): Promise<PrefetchActivityResult> {
      checkPrefetchInput(input);
      const started = Date.now();
      const r = await heartbeating(() => runPrefetch(pool, cache, input), () => ({ prefetchId: input.prefetchId, elapsedMs: Date.now() - started }));
      const labels = { environment: input.environment, trigger: input.trigger };
      appMetrics.prefetchKeys.inc(labels, r.keysWarmed);
      appMetrics.prefetchDuration.observe(labels, r.durationMs / 1000);
      return {
        status: r.status,
        runId: r.runId,
        queries: r.queries,
        keysWarmed: r.keysWarmed,
        topKeys: r.topKeys,
        patternKeys: r.patternKeys,
        patternHorizons: r.patternHorizons,
        durationMs: r.durationMs,
        memoryImpactPct: r.memoryImpactPct,
        sample: r.top.slice(0, 10).map(({ sku, horizon, hits }) => ({ sku, horizon, hits })),
      };
    },

    async recordSkippedPrefetch(input: PrefetchActivityInput & { reason: string }): Promise<void> {
      checkPrefetchInput(input);
      await recordSkippedPrefetch(pool, input);
    },
  };
}

import { preloadRun, recordSkippedPrefetch, runPrefetch, type PrefetchCounts, type PrefetchRunInput, type PrefetchTrigger } from '../cache/prefetch';
import { parseEnvironment } from '../config/schema';
import { appMetrics } from '../ops/metrics';
import type { ActivityDeps } from './deps';
import { BadInputError } from './errors';
import { heartbeatWhile } from './heartbeat';

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

/**
 * How often a prefetch heartbeats (its work is I/O, so the timer runs); the workflow's heartbeat
 * timeout is a few times this, so a prefetch killed at 11:28 is retried within seconds, before the peak.
 */
const PREFETCH_HEARTBEAT_MS = 1000;

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
      const r = await heartbeatWhile(PREFETCH_HEARTBEAT_MS, () => ({ prefetchId: input.prefetchId, elapsedMs: Date.now() - started }), () => runPrefetch(pool, cache, input));
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

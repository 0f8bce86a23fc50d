import { executeChild, log, proxyActivities, sleep, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { Activities } from '../activities';
import type { PrefetchCounts, PrefetchTrigger } from '../cache/prefetch';
import { postDeployPrefetchChildId, postDeployWorkflowId } from './ids';
import { ENVIRONMENT, STATUS, TRIGGER } from './search-attributes';

/**
 * `prefetch`: the plan's predictive cache prefetch — the most asked-for queries of the last 30 days
 * (plus the last 24 h), and each popular non-default horizon for the most-queried SKUs, are
 * written into the cache before a traffic peak. Started by the
 * prefetch-*-peak schedules, `neuro prefetch run`, a rollout, or postDeployPrefetch below.
 */

export type { PrefetchTrigger };

export interface PrefetchInput {
  environment: string;
  trigger: PrefetchTrigger;
  /** Default: the environment's PREFETCH_TOP_N_QUERIES. */
  topN?: number;
  /** Default: the environment's PREFETCH_INCLUDE_RECENT. */
  includeRecent?: boolean;
  /** Default: the environment's PREFETCH_PATTERN_SKUS (0 = no pattern expansion). */
  patternSkus?: number;
}

export interface PrefetchResult extends PrefetchCounts {
  prefetchId: string;
  environment: string;
  trigger: PrefetchTrigger;
  topN: number;
  includeRecent: boolean;
  patternSkus: number;
  status: 'completed' | 'no-forecasts' | 'skipped';
  reason?: string;
}

export interface PostDeployPrefetchInput {
  environment: string;
  deployId: string;
}

export interface PostDeployPrefetchResult {
  deployId: string;
  delayMs: number;
  prefetch: PrefetchResult;
}


const retry: RetryPolicy = { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 };
const { getConfig, recordSkippedPrefetch } = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry });
// The prefetch heartbeats while it warms keys: a killed worker's prefetch is retried elsewhere within
// seconds, not after the 2-minute timeout (a pre-peak prefetch must finish before the peak).
// Two missed beats (it beats every second) mark the worker dead; the retry follows at once.
const { prefetchTopQueries } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '2 seconds',
  retry: { ...retry, initialInterval: '200 milliseconds' },
});

export async function prefetch(input: PrefetchInput): Promise<PrefetchResult> {
  const prefetchId = workflowInfo().workflowId;
  upsertSearchAttributes([
    { key: ENVIRONMENT, value: input.environment },
    { key: TRIGGER, value: input.trigger },
    { key: STATUS, value: 'running' },
  ]);
  const config = await getConfig(input.environment);
  const params = {
    prefetchId,
    environment: input.environment,
    trigger: input.trigger,
    topN: input.topN ?? config.PREFETCH_TOP_N_QUERIES,
    includeRecent: input.includeRecent ?? config.PREFETCH_INCLUDE_RECENT,
    // ?? 0: a config read before the key existed (an old history on replay) means no expansion.
    patternSkus: input.patternSkus ?? config.PREFETCH_PATTERN_SKUS ?? 0,
  };

  // The kill switch of the plan's rollback: automatic prefetches stop as soon as the flag is off,
  // even before `neuro schedules apply` pauses the schedules. Manual and rollout runs still go.
  if (!config.ENABLE_PREDICTIVE_PREFETCH && (input.trigger === 'schedule' || input.trigger === 'post-deploy')) {
    const reason = 'ENABLE_PREDICTIVE_PREFETCH=false';
    await recordSkippedPrefetch({ ...params, reason });
    upsertSearchAttributes([{ key: STATUS, value: 'skipped' }]);
    log.info('prefetch skipped', { reason });
    return {
      ...params,
      status: 'skipped',
      reason,
      runId: null,
      queries: 0,
      keysWarmed: 0,
      topKeys: 0,
      patternKeys: 0,
      patternHorizons: [],
      durationMs: 0,
      memoryImpactPct: 0,
    };
  }

  const r = await prefetchTopQueries(params);
  upsertSearchAttributes([{ key: STATUS, value: r.status }]);
  upsertMemo({ keysWarmed: r.keysWarmed, topKeys: r.topKeys, patternKeys: r.patternKeys, durationMs: Math.round(r.durationMs), memoryImpactPct: r.memoryImpactPct });
  return {
    ...params,
    status: r.status,
    runId: r.runId,
    queries: r.queries,
    keysWarmed: r.keysWarmed,
    // ?? : an activity result recorded before the split (old history on replay) was all top-N.
    topKeys: r.topKeys ?? r.keysWarmed,
    patternKeys: r.patternKeys ?? 0,
    patternHorizons: r.patternHorizons ?? [],
    durationMs: r.durationMs,
    memoryImpactPct: r.memoryImpactPct,
  };
}

/** The deploy hook's workflow: a durable timer of PREFETCH_POST_DEPLOY_DELAY_MS, then a prefetch child. */
export async function postDeployPrefetch(input: PostDeployPrefetchInput): Promise<PostDeployPrefetchResult> {
  upsertSearchAttributes([
    { key: ENVIRONMENT, value: input.environment },
    { key: TRIGGER, value: 'post-deploy' },
    { key: STATUS, value: 'waiting' },
  ]);
  upsertMemo({ deployId: input.deployId });
  const delayMs = (await getConfig(input.environment)).PREFETCH_POST_DEPLOY_DELAY_MS;
  // Services settle before the warm-up; a worker restart during the wait does not lose the timer.
  if (delayMs > 0) await sleep(delayMs, { summary: `post-deploy delay (${delayMs / 1000} s)` });
  upsertSearchAttributes([{ key: STATUS, value: 'prefetching' }]);
  const result = await executeChild(prefetch, {
    // From the input, not workflowInfo(): the same id whichever way the workflow was started.
    workflowId: postDeployPrefetchChildId(postDeployWorkflowId(input.environment, input.deployId)),
    args: [{ environment: input.environment, trigger: 'post-deploy' }],
    staticSummary: `prefetch after deploy ${input.deployId} (${input.environment})`,
  });
  upsertSearchAttributes([{ key: STATUS, value: result.status }]);
  return { deployId: input.deployId, delayMs, prefetch: result };
}

import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ForecastBatchResult, PreparedRun } from '../activities/forecast';
import { backtest, type BacktestResult } from './backtest';
import { pauseSignal, progressQuery, resumeSignal, type ForecastRunProgress } from './messages';
import { ENVIRONMENT, RUN_DATE, SCHEDULED_BY, STATUS, TRIGGER } from './search-attributes';

/**
 * The daily forecast run (plan P1) as a durable workflow: the SKU snapshot is cut into batches,
 * one activity per batch forecasts and writes it, and a durable timer of STREAMING_BATCH_DELAY_MS
 * (read from the environment's config before every gap, so a rollback applies mid-run) separates
 * batches. A crash loses nothing: finished batches are in history and in forecast_batches, the
 * batch in flight is retried and finds its rows if it had written them.
 *
 * History bound: one execution runs at most batchesPerExecution batches (default 100; about 15
 * events each: activity, config read, timer, workflow tasks), then continues as new carrying only
 * counters. So an execution's history stays under ~1,600 events and a few hundred KB whatever the
 * catalogue size; SKU ids never enter history (batches are addressed by index into batch_skus).
 */

export interface ForecastRunInput {
  environment: string;
  /** YYYY-MM-DD; default the workflow's start date (UTC). Histories end the day before. */
  runDate?: string;
  /** SKUs per batch; default FORECAST_BATCH_SIZE. */
  batchSize?: number;
  /** Overrides STREAMING_BATCH_DELAY_MS for this run (then config is not read per gap). */
  delayMs?: number;
  /** Forecast only these SKUs. */
  skus?: string[];
  /** Selection policy: plan, sbc or backtest-best; default SELECTION_POLICY. */
  policy?: string;
  /** Days forecast per SKU; default FORECAST_HORIZON_DAYS (7). */
  horizon?: number;
  /** Batches in flight at once; default FORECAST_MAX_PARALLEL_BATCHES (1). */
  maxParallel?: number;
  /** Accuracy summary: a backtest child (default), the latest stored backtest, or none. */
  accuracy?: 'backtest' | 'latest' | 'none';
  /** Preload the new forecasts into the cache (child cachePreload); default true. */
  preload?: boolean;
  /** Who started it (schedule, cli, api, rollout, demo): search attribute NeuroTrigger. */
  trigger?: string;
  /** Batches per workflow execution before continue-as-new; default 100. */
  batchesPerExecution?: number;
}

export interface ForecastRunResult {
  runId: string;
  environment: string;
  runDate: string;
  status: 'completed';
  skus: number;
  batches: number;
  batchSize: number;
  horizon: number;
  policy: string;
  /** The delay of the last gap (ms). */
  batchDelayMs: number;
  /** Sum of the durable delays taken (ms) and how many gaps there were. */
  totalDelayMs: number;
  gaps: number;
  /** Forecasting phase: start to last batch written (the plan's "forecast duration"). */
  durationMs: number;
  /** Start to completion, preload and accuracy step included. */
  totalMs: number;
  peakRssMb: number;
  peakMemoryPct: number;
  modelCounts: Record<string, number>;
  /** Batches an earlier attempt had already written when a retry came (crash recovery). */
  batchesReused: number;
  executions: number;
  preload: { keys: number; durationMs: number } | { error: string } | null;
  accuracySource: 'backtest' | 'latest' | 'none';
  mape: number | null;
  wape: number | null;
  mase: number | null;
  outlierCount: number;
  outlierSkus: string[];
}

interface Counters {
  batchesDone: number;
  skusDone: number;
  batchesReused: number;
  totalDelayMs: number;
  gaps: number;
  currentDelayMs: number;
  /** Workflow-clock time spent in batch activities, for the ETA. */
  batchWallMs: number;
  peakRssMb: number;
  peakMemoryPct: number;
  modelCounts: Record<string, number>;
}

/** What a continued-as-new execution carries on. */
interface Carried {
  prepared: PreparedRun;
  nextBatch: number;
  startedAtMs: number;
  paused: boolean;
  executions: number;
  counters: Counters;
}

export const DEFAULT_BATCHES_PER_EXECUTION = 100;

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});
// A killed worker's batch is retried elsewhere once its heartbeats stop (10 s).
const batchActs = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});
// The config read before each gap is small and frequent: a local activity (one marker event).
const localActs = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500ms', maximumInterval: '5s' },
});

const preloadActs = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});

const message = (err: unknown): string => {
  const e = err as { message?: string; cause?: { message?: string } };
  return e?.cause?.message ?? e?.message ?? String(err);
};

export async function forecastRun(input: ForecastRunInput, carried?: Carried): Promise<ForecastRunResult> {
  const info = workflowInfo();
  const runId = info.workflowId;
  const runDate = carried?.prepared.runDate ?? input.runDate ?? info.startTime.toISOString().slice(0, 10);
  const startedAtMs = carried?.startedAtMs ?? info.startTime.getTime();
  if (!input || typeof input.environment !== 'string') {
    throw ApplicationFailure.nonRetryable('input: { environment: "staging" | "production", ... } is required', 'BadInputError');
  }
  const environment = input.environment;
  let prepared: PreparedRun | undefined = carried?.prepared;
  let status: ForecastRunProgress['status'] = carried ? 'running' : 'listing';
  let paused = carried?.paused ?? false;
  let inFlight = 0;
  const c: Counters = carried?.counters ?? {
    batchesDone: 0, skusDone: 0, batchesReused: 0, totalDelayMs: 0, gaps: 0, currentDelayMs: 0,
    batchWallMs: 0, peakRssMb: 0, peakMemoryPct: 0, modelCounts: {},
  };

  const setStatus = (s: ForecastRunProgress['status']) => {
    status = s;
    upsertSearchAttributes([{ key: STATUS, value: s }]);
  };

  setHandler(progressQuery, (): ForecastRunProgress => {
    const total = prepared?.batches ?? 0;
    const left = total - c.batchesDone;
    const lanes = Math.max(1, Math.min(prepared?.maxParallel ?? 1, left));
    const meanBatch = c.batchesDone > 0 ? c.batchWallMs / c.batchesDone : null;
    return {
      runId,
      environment,
      runDate,
      status: paused && status === 'running' ? 'paused' : status,
      skusTotal: prepared?.skus ?? 0,
      skusDone: c.skusDone,
      batchesTotal: total,
      batchesDone: c.batchesDone,
      currentDelayMs: c.currentDelayMs,
      etaMs: meanBatch === null ? null : (left * meanBatch) / lanes + Math.max(0, left - inFlight) * c.currentDelayMs,
      paused,
    };
  });
  // Pausing lets batches in flight finish and holds the next ones until resume.
  setHandler(pauseSignal, () => {
    paused = true;
    if (status === 'running') upsertSearchAttributes([{ key: STATUS, value: 'paused' }]);
  });
  setHandler(resumeSignal, () => {
    paused = false;
    if (status === 'running') upsertSearchAttributes([{ key: STATUS, value: 'running' }]);
  });

  if (!carried) {
    upsertSearchAttributes([
      { key: ENVIRONMENT, value: environment },
      { key: RUN_DATE, value: runDate },
      { key: STATUS, value: 'running' },
      { key: TRIGGER, value: input.trigger ?? (info.typedSearchAttributes.get(SCHEDULED_BY) ? 'schedule' : 'manual') },
    ]);
  }

  let nextBatch = carried?.nextBatch ?? 0;
  let p: PreparedRun;
  try {
    p = prepared ?? await acts.prepareForecastRun({
      runId,
      environment,
      runDate,
      batchSize: input.batchSize,
      delayMs: input.delayMs,
      horizon: input.horizon,
      policy: input.policy,
      maxParallel: input.maxParallel,
      skus: input.skus,
    });
    prepared = p;
  } catch (err) {
    // Bad input: nothing was written, so there is no run record to mark. The run fails with the
    // activity's message at the top, not buried under an ActivityFailure.
    setStatus('failed');
    if (isCancellation(err)) throw err;
    const cause = (err as { cause?: unknown }).cause;
    const type = cause instanceof ApplicationFailure ? cause.type : undefined;
    throw ApplicationFailure.create({ message: message(err), type: type ?? 'PrepareFailed', nonRetryable: true, cause: err as Error });
  }
  if (!carried) c.currentDelayMs = p.initialDelayMs;
  status = 'running';
  upsertMemo({
    environment,
    runDate,
    skus: p.skus,
    batches: p.batches,
    batchSize: p.batchSize,
    horizon: p.horizon,
    policy: p.selection.policy,
    delay: p.delayOverridden ? `${p.initialDelayMs} ms (override)` : 'STREAMING_BATCH_DELAY_MS, read before each gap',
  });

  const fail = async (err: unknown): Promise<never> => {
    if (!isCancellation(err)) setStatus('failed');
    else status = 'failed';
    await CancellationScope.nonCancellable(() => acts.failForecastRun({ runId, error: message(err) }));
    throw err;
  };

  try {
    const limit = Math.min(p.batches, nextBatch + (input.batchesPerExecution ?? DEFAULT_BATCHES_PER_EXECUTION));
    const lane = async () => {
      while (nextBatch < limit && !workflowInfo().continueAsNewSuggested) {
        const batchIndex = nextBatch++;
        if (batchIndex > 0) {
          // The gap before every batch but the first: a durable timer, not a process sleep.
          c.currentDelayMs = p.delayOverridden ? p.initialDelayMs : await localActs.batchDelayMs(environment);
          if (c.currentDelayMs > 0) {
            await sleep(c.currentDelayMs);
            c.totalDelayMs += c.currentDelayMs;
          }
          c.gaps++;
        }
        if (paused) await condition(() => !paused);
        inFlight++;
        const t0 = Date.now();
        const r: ForecastBatchResult = await batchActs.forecastBatch({
          runId,
          environment,
          runDate,
          batchIndex,
          horizon: p.horizon,
          selection: p.selection,
          memoryLimitMb: p.memoryLimitMb,
        });
        inFlight--;
        c.batchWallMs += Date.now() - t0;
        c.batchesDone++;
        c.skusDone += r.skus;
        if (r.alreadyDone) c.batchesReused++;
        c.peakRssMb = Math.max(c.peakRssMb, r.peakRssMb);
        c.peakMemoryPct = Math.max(c.peakMemoryPct, r.peakMemoryPct);
        for (const [m, n] of Object.entries(r.modelCounts)) c.modelCounts[m] = (c.modelCounts[m] ?? 0) + n;
      }
    };
    const lanes = Math.max(1, Math.min(p.maxParallel, limit - nextBatch));
    await Promise.all(Array.from({ length: lanes }, lane));
  } catch (err) {
    return fail(err);
  }

  if (nextBatch < p.batches) {
    // Bounded history: continue in a fresh execution (same workflow id = same run id).
    await continueAsNew<typeof forecastRun>(input, {
      prepared: p,
      nextBatch,
      startedAtMs,
      paused,
      executions: (carried?.executions ?? 1) + 1,
      counters: c,
    });
  }

  try {
    const durationMs = Date.now() - startedAtMs;
    await acts.finishForecasting({
      runId,
      environment,
      stats: {
        forecastMs: durationMs,
        totalDelayMs: c.totalDelayMs,
        batchDelayMs: c.currentDelayMs,
        peakRssMb: c.peakRssMb,
        peakMemoryPct: c.peakMemoryPct,
        modelCounts: c.modelCounts,
      },
    });

    let preload: ForecastRunResult['preload'] = null;
    if (input.preload !== false) {
      setStatus('preloading');
      try {
        preload = await executeChild(cachePreload, { args: [{ environment, runId }], workflowId: `${runId}-preload` });
      } catch (err) {
        // The forecasts are written and served from the database; a failed preload only costs cache misses.
        if (isCancellation(err)) throw err;
        preload = { error: message(err) };
      }
    }

    const accuracySource = input.accuracy ?? 'backtest';
    let acc: { mape: number | null; wape: number | null; mase: number | null; outlierCount: number; outlierSkus: string[] } | null = null;
    if (accuracySource === 'backtest') {
      setStatus('backtesting');
      const bt: BacktestResult = await executeChild(backtest, {
        args: [{ environment, runDate, policy: p.selection.policy, batchSize: p.batchSize, horizon: p.horizon, skus: input.skus, accuracyRunId: runId }],
        workflowId: `${runId}-backtest`,
      });
      acc = bt;
    } else if (accuracySource === 'latest') {
      acc = await acts.latestAccuracy({ environment, outlierThreshold: p.outlierThreshold });
    }

    const result: ForecastRunResult = {
      runId,
      environment,
      runDate,
      status: 'completed',
      skus: p.skus,
      batches: p.batches,
      batchSize: p.batchSize,
      horizon: p.horizon,
      policy: p.selection.policy,
      batchDelayMs: c.currentDelayMs,
      totalDelayMs: c.totalDelayMs,
      gaps: c.gaps,
      durationMs,
      totalMs: Date.now() - startedAtMs,
      peakRssMb: c.peakRssMb,
      peakMemoryPct: c.peakMemoryPct,
      modelCounts: c.modelCounts,
      batchesReused: c.batchesReused,
      executions: carried?.executions ?? 1,
      preload,
      accuracySource,
      mape: acc?.mape ?? null,
      wape: acc?.wape ?? null,
      mase: acc?.mase ?? null,
      outlierCount: acc?.outlierCount ?? 0,
      outlierSkus: acc?.outlierSkus ?? [],
    };
    await acts.completeForecastRun({
      runId,
      completion: {
        durationMs: result.durationMs,
        preloadKeys: preload && 'keys' in preload ? preload.keys : null,
        accuracySource,
        mape: result.mape,
        wape: result.wape,
        mase: result.mase,
        outlierSkus: result.outlierSkus,
        outlierCount: result.outlierCount,
      },
    });
    setStatus('completed');
    upsertMemo({ durationMs: result.durationMs, peakMemoryPct: result.peakMemoryPct, mape: result.mape, outlierCount: result.outlierCount });
    return result;
  } catch (err) {
    return fail(err);
  }
}

export interface CachePreloadInput {
  environment: string;
  runId: string;
}

/** Writes a finished run's forecasts into the cache (the plan's reactive preload after the run). */
export async function cachePreload(input: CachePreloadInput): Promise<{ keys: number; durationMs: number }> {
  upsertSearchAttributes([
    { key: ENVIRONMENT, value: input.environment },
    { key: STATUS, value: 'running' },
  ]);
  const out = await preloadActs.preloadForecasts(input);
  upsertSearchAttributes([{ key: STATUS, value: 'completed' }]);
  upsertMemo({ runId: input.runId, keys: out.keys });
  return out;
}

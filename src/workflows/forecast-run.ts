import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PreparedRun } from '../activities/forecast';
import { backtest } from './backtest';
import { BATCH_HEARTBEAT_TIMEOUT, batchActivities, failureMessage, prepareFailure, runBatchLanes } from './batches';
import { backtestChildId, preloadChildId } from './ids';
import { countBatch, countGap, newCounters, progress, type Carried, type Counters } from './forecast-run-state';
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
  /** Batches per workflow execution before continue-as-new; default BATCHES_PER_EXECUTION (100). */
  batchesPerExecution?: number;
  /**
   * Shadow A/B: a challenger (a model, or a policy run with hybrid on) forecast beside what serves
   * every SKU, stored apart and never served, and backtested on the same windows in the accuracy step.
   */
  shadow?: string;
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

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
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

/** What the query handler reads and the steps update. */
interface RunState {
  status: ForecastRunProgress['status'];
  paused: boolean;
  inFlight: number;
  prepared?: PreparedRun;
}

export async function forecastRun(input: ForecastRunInput, carried?: Carried): Promise<ForecastRunResult> {
  if (!input || typeof input.environment !== 'string') {
    throw ApplicationFailure.nonRetryable('input: { environment: "staging" | "production", ... } is required', 'BadInputError');
  }
  const info = workflowInfo();
  const runId = info.workflowId;
  const environment = input.environment;
  const runDate = carried?.prepared.runDate ?? input.runDate ?? info.startTime.toISOString().slice(0, 10);
  const startedAtMs = carried?.startedAtMs ?? info.startTime.getTime();
  const run: RunState = { status: carried ? 'running' : 'listing', paused: carried?.paused ?? false, inFlight: 0, prepared: carried?.prepared };
  const c: Counters = carried?.counters ?? newCounters();
  const setStatus = (s: ForecastRunProgress['status']) => {
    run.status = s;
    upsertSearchAttributes([{ key: STATUS, value: s }]);
  };

  setHandler(progressQuery, () => progress({ runId, environment, runDate, counters: c, ...run }));
  // Pausing lets batches in flight finish and holds the next ones until resume.
  setHandler(pauseSignal, () => {
    run.paused = true;
    if (run.status === 'running') upsertSearchAttributes([{ key: STATUS, value: 'paused' }]);
  });
  setHandler(resumeSignal, () => {
    run.paused = false;
    if (run.status === 'running') upsertSearchAttributes([{ key: STATUS, value: 'running' }]);
  });

  if (!carried) {
    upsertSearchAttributes([
      { key: ENVIRONMENT, value: environment },
      { key: RUN_DATE, value: runDate },
      { key: STATUS, value: 'running' },
      { key: TRIGGER, value: input.trigger ?? (info.typedSearchAttributes.get(SCHEDULED_BY) ? 'schedule' : 'manual') },
    ]);
  }

  let p: PreparedRun;
  try {
    p = run.prepared ?? (await acts.prepareForecastRun({ runId, environment, runDate, batchSize: input.batchSize, delayMs: input.delayMs, horizon: input.horizon, policy: input.policy, maxParallel: input.maxParallel, skus: input.skus, ...(input.shadow !== undefined ? { shadow: input.shadow } : {}) }));
    run.prepared = p;
  } catch (err) {
    setStatus('failed');
    throw isCancellation(err) ? err : prepareFailure(err);
  }
  if (!carried) c.currentDelayMs = p.initialDelayMs;
  run.status = 'running';
  upsertMemo(runMemo(environment, runDate, p));
  // The Web UI's current details: how far the run is.
  const showProgress = () =>
    setCurrentDetails(
      `${environment} ${runDate}: ${p.skus} SKUs in ${p.batches} batches of ${p.batchSize}; ${c.batchesDone}/${p.batches} done, ` +
        `delay ${c.currentDelayMs} ms, peak memory ${c.peakMemoryPct.toFixed(1)}%${run.paused ? ' (paused)' : ''}`,
    );
  showProgress();

  const fail = async (err: unknown): Promise<never> => {
    if (!isCancellation(err)) setStatus('failed');
    else run.status = 'failed';
    await CancellationScope.nonCancellable(() => acts.failForecastRun({ runId, error: failureMessage(err) }));
    throw err;
  };

  let nextBatch: number;
  try {
    const batchActs = batchActivities(BATCH_HEARTBEAT_TIMEOUT.forecast);
    nextBatch = await runBatchLanes({
      from: carried?.nextBatch ?? 0,
      total: p.batches,
      maxParallel: p.maxParallel,
      batchesPerExecution: input.batchesPerExecution,
      run: async (batchIndex) => {
        // The gap before every batch but the first: a durable timer, not a process sleep.
        if (batchIndex > 0) {
          const delayMs = p.delayOverridden ? p.initialDelayMs : await localActs.batchDelayMs(environment);
          countGap(c, delayMs);
          if (delayMs > 0) await sleep(delayMs, { summary: `gap ${batchIndex}/${p.batches - 1} (${delayMs} ms)` });
        }
        if (run.paused) await condition(() => !run.paused);
        run.inFlight++;
        const t0 = Date.now();
        const r = await batchActs.named(`batch ${batchIndex + 1}/${p.batches}`).forecastBatch({ runId, environment, runDate, batchIndex, horizon: p.horizon, selection: p.selection, memoryLimitMb: p.memoryLimitMb, ...(p.shadow ? { shadow: p.shadow } : {}) });
        run.inFlight--;
        countBatch(c, r, Date.now() - t0);
        showProgress();
      },
    });
  } catch (err) {
    return fail(err);
  }

  if (nextBatch < p.batches) {
    // Bounded history: continue in a fresh execution (same workflow id = same run id).
    await continueAsNew<typeof forecastRun>(input, { prepared: p, nextBatch, startedAtMs, paused: run.paused, executions: (carried?.executions ?? 1) + 1, counters: c });
  }

  try {
    const result = await finishRun({ input, runId, environment, runDate, startedAtMs, executions: carried?.executions ?? 1, p, c, setStatus });
    setStatus('completed');
    upsertMemo({ durationMs: result.durationMs, peakMemoryPct: result.peakMemoryPct, mape: result.mape, outlierCount: result.outlierCount });
    return result;
  } catch (err) {
    return fail(err);
  }
}

function runMemo(environment: string, runDate: string, p: PreparedRun) {
  return {
    environment,
    runDate,
    skus: p.skus,
    batches: p.batches,
    batchSize: p.batchSize,
    horizon: p.horizon,
    policy: p.selection.policy,
    delay: p.delayOverridden ? `${p.initialDelayMs} ms (override)` : 'STREAMING_BATCH_DELAY_MS, read before each gap',
  };
}

interface FinishContext {
  input: ForecastRunInput;
  runId: string;
  environment: string;
  runDate: string;
  startedAtMs: number;
  executions: number;
  p: PreparedRun;
  c: Counters;
  setStatus: (s: ForecastRunProgress['status']) => void;
}

/** After the last batch: record the forecasting phase, preload the cache, measure accuracy, record the run. */
async function finishRun({ input, runId, environment, runDate, startedAtMs, executions, p, c, setStatus }: FinishContext): Promise<ForecastRunResult> {
  const durationMs = Date.now() - startedAtMs;
  await acts.finishForecasting({
    runId,
    environment,
    stats: { forecastMs: durationMs, totalDelayMs: c.totalDelayMs, batchDelayMs: c.currentDelayMs, peakRssMb: c.peakRssMb, peakMemoryPct: c.peakMemoryPct, modelCounts: c.modelCounts },
  });

  let preload: ForecastRunResult['preload'] = null;
  if (input.preload !== false) {
    setStatus('preloading');
    try {
      preload = await executeChild(cachePreload, { args: [{ environment, runId }], workflowId: preloadChildId(runId), staticSummary: `cache preload of ${runId}: ${p.skus} SKUs` });
    } catch (err) {
      // The forecasts are written and served from the database; a failed preload only costs cache misses.
      if (isCancellation(err)) throw err;
      preload = { error: failureMessage(err) };
    }
  }

  const accuracySource = input.accuracy ?? 'backtest';
  let acc: Pick<ForecastRunResult, 'mape' | 'wape' | 'mase' | 'outlierCount' | 'outlierSkus'> | null = null;
  if (accuracySource === 'backtest') {
    setStatus('backtesting');
    acc = await executeChild(backtest, {
      args: [{ environment, runDate, policy: p.selection.policy, batchSize: p.batchSize, horizon: p.horizon, skus: input.skus, accuracyRunId: runId, ...(p.shadow ? { shadow: p.shadow } : {}) }],
      workflowId: backtestChildId(runId),
      staticSummary: `accuracy backtest of ${runId}: ${p.skus} SKUs`,
    });
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
    executions,
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
  return result;
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

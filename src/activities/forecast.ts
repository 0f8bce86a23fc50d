import { memoryLimitBytes } from '../config/memory';
import { Context } from '@temporalio/activity';
import { CONFIG_KEYS, parseConfigValue, parseEnvironment, type ConfigKey, type ForecastConfig } from '../config/schema';
import { getEnvironmentConfig } from '../db/config-store';
import {
  addDays,
  batchModelCounts,
  batchSkuIds,
  findBatch,
  getRun,
  insertRun,
  latestAccuracy,
  loadBatchHistories,
  markCompleted,
  markFailed,
  markForecasted,
  recordBatch,
  snapshotRunSkus,
  streamHistories,
  unknownSkus,
  upsertAccuracy,
  upsertForecasts,
  upsertIntervals,
  runIntervalLevels,
  type BatchRecord,
  type IntervalRows,
  type ForecastedStats,
  type RunCompletion,
} from '../db/forecasts';
import { latestClassTable, saveClassTable } from '../db/class-tables';
import { withTransaction } from '../db/pool';
import { assignmentsOf, recordRunAssignments } from '../db/model-assignments';
import { upsertShadowAccuracy, upsertShadowForecasts, type ShadowForecastRows } from '../db/shadow';
import type { ShadowRow } from '../rollout/shadow';
import { parseServes, servesSelection, type Serves } from '../forecasting/serves';
import {
  backtestSku, chooseClassModels, chooseModel, classModelLabel, forecastChoice, ForecastInputError, isModelName, parseLevels, sameChoice, SELECTION_POLICIES,
  type BacktestOptions, type Interval, type ModelChoice, type ModelName, type SelectionOptions, type SeriesInput, type SkuBacktest,
} from '../forecasting';
import { gcRecorder } from '../ops/gc';
import { appMetrics } from '../ops/metrics';
import { countInto } from '../forecasting/counts';
import { isValidIsoDate } from '../forecasting/dates';
import type { ActivityDeps } from './deps';
import { BadInputError } from './errors';
import { heartbeatWhile } from './heartbeat';

/**
 * Activities of the forecastRun and backtest workflows. A run's SKUs are snapshotted into batches
 * when it starts (prepare*), then each batch activity loads its histories, runs the engine and
 * writes its rows in one set-based statement together with the batch's record, so a batch is done
 * exactly once however often it is retried.
 */

export type SelectionSettings = Omit<SelectionOptions, 'candidates' | 'validationWindows'>;

export interface PrepareRunInput {
  runId: string;
  environment: string;
  runDate: string;
  batchSize?: number;
  delayMs?: number;
  horizon?: number;
  policy?: string;
  maxParallel?: number;
  skus?: string[];
  /** Shadow A/B: a challenger (model or policy) forecast beside what serves, stored apart, never served. */
  shadow?: string;
}

export interface PreparedRun {
  runId: string;
  environment: string;
  runDate: string;
  skus: number;
  batches: number;
  batchSize: number;
  horizon: number;
  maxParallel: number;
  /** The delay the first gap will use (the override, or the environment's value now). */
  initialDelayMs: number;
  delayOverridden: boolean;
  selection: SelectionSettings;
  outlierThreshold: number;
  memoryLimitMb: number;
  shadow?: Serves;
  /** class-best: the class table in selection.classModels (none: class defaults). */
  classTableId?: string;
}

export interface ForecastBatchInput {
  runId: string;
  environment: string;
  runDate: string;
  batchIndex: number;
  horizon: number;
  selection: SelectionSettings;
  memoryLimitMb: number;
  shadow?: Serves;
}

export interface ForecastBatchResult {
  batchIndex: number;
  skus: number;
  /** The attempt that wrote the batch (a later attempt finding it done reports that one). */
  attempt: number;
  durationMs: number;
  peakRssMb: number;
  peakMemoryPct: number;
  modelCounts: Record<string, number>;
  /** True when an earlier attempt had already written this batch (nothing redone). */
  alreadyDone: boolean;
}

export interface PrepareBacktestInput {
  backtestId: string;
  environment: string;
  runDate: string;
  batchSize?: number;
  horizon?: number;
  windows?: number;
  step?: number;
  policy?: string;
  model?: string;
  outlierThreshold?: number;
  skus?: string[];
  /** Also backtest this challenger on the same windows (shadow_accuracy). */
  shadow?: string;
}

export interface PreparedBacktest {
  backtestId: string;
  environment: string;
  runDate: string;
  skus: number;
  batches: number;
  batchSize: number;
  horizon: number;
  windows: number;
  step: number;
  model?: ModelName;
  selection: SelectionSettings;
  outlierThreshold: number;
  shadow?: Serves;
  /** class-best: the class table the batches score (the environment's latest; none: class defaults). */
  classTableId?: string;
}

/** class-best: a class table is chosen on at most this many SKUs (every k-th of the snapshot). */
export const CLASS_TABLE_MAX_SKUS = 3000;

export interface ChooseClassTableInput {
  backtestId: string;
  environment: string;
  runDate: string;
  horizon: number;
  skus: number;
  batches: number;
  selection: SelectionSettings;
}

export interface ChosenClassTable {
  tableId: string;
  /** SKUs the table was judged on. */
  skus: number;
  /** Per demand class judged: the chosen model or combination, e.g. "mean(Prophet+SeasonalNaive)". */
  classes: Record<string, string>;
}

export interface BacktestBatchInput {
  backtestId: string;
  /** Run id the sku_accuracy rows are stored under (a forecast run's id when it is its accuracy step). */
  accuracyRunId: string;
  environment: string;
  runDate: string;
  batchIndex: number;
  horizon: number;
  windows: number;
  step: number;
  model?: ModelName;
  selection: SelectionSettings;
  outlierThreshold: number;
  shadow?: Serves;
}

export interface OutlierSku {
  sku: string;
  mape: number;
  model: string;
}

/** Sums a workflow can merge across batches into catalogue figures. */
export interface BacktestBatchResult {
  batchIndex: number;
  skus: number;
  skipped: number;
  mapeSum: number;
  mapeCount: number;
  maseSum: number;
  maseCount: number;
  sumAbsErr: number;
  sumAbsActual: number;
  outlierCount: number;
  /** The batch's worst outliers (at most OUTLIERS_KEPT), worst first. */
  outliers: OutlierSku[];
  modelCounts: Record<string, number>;
  durationMs: number;
}

export const OUTLIERS_KEPT = 20;
/**
 * How often a batch records a heartbeat and lets the event loop run. The SDK sends at most one per
 * 0.8 x the heartbeat timeout (3-5 s, src/workflows/batches.ts), so this only has to be well under it.
 */
const HEARTBEAT_INTERVAL_MS = 200;

// ---- heartbeats --------------------------------------------------------------------------------

const lastProgress = new WeakMap<Context, unknown>();

/** The batch's progress, sent with its next heartbeat. */
function progress(ctx: Context, details: unknown): void {
  lastProgress.set(ctx, details);
  ctx.heartbeat(details);
}

/**
 * Heartbeats on a timer for the whole batch, not only between SKUs: a batch waiting on the database
 * (loading histories, writing a large batch) must not look like a dead worker and be run twice.
 */
function heartbeating<I, R>(fn: (input: I) => Promise<R>): (input: I) => Promise<R> {
  return async (input) => {
    const ctx = Context.current();
    return heartbeatWhile(HEARTBEAT_INTERVAL_MS, () => lastProgress.get(ctx), () => fn(input));
  };
}

// ---- memory ------------------------------------------------------------------------------------

/** Samples this process's RSS on a timer and on demand; the max is the batch's peak. */
function rssSampler(intervalMs = 20) {
  let peak = process.memoryUsage.rss();
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    sample,
    stop(): number {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

// ---- validation --------------------------------------------------------------------------------

/** Validates a per-run override with the rule of the config key it overrides, named as the caller named it. */
function checkOverride<K extends ConfigKey>(name: string, key: K, value: unknown): ForecastConfig[K] | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    return parseConfigValue(key, value);
  } catch {
    throw new BadInputError(`${name}: ${JSON.stringify(value)} refused: must be ${CONFIG_KEYS[key].rule}`);
  }
}

function checkRunDate(runDate: unknown): string {
  if (!isValidIsoDate(runDate)) throw new BadInputError(`runDate: ${JSON.stringify(runDate)} refused: must be a date YYYY-MM-DD`);
  return runDate;
}

/** The shadow challenger backtested on the champion's windows: one row of the A/B. */
function shadowRow(s: SeriesInput, champion: SkuBacktest, common: Omit<BacktestOptions, 'model' | 'selection'>, selection: SelectionSettings, challenger: Serves): ShadowRow {
  const assigned = servesSelection(challenger, selection);
  let r: SkuBacktest;
  try {
    r = backtestSku(s, { ...common, ...assigned });
  } catch (err) {
    if (!(err instanceof ForecastInputError) || assigned.model === undefined) throw err;
    r = backtestSku(s, { ...common, selection }); // too short for the challenger's model: what the forecast would do
  }
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  const side = (b: SkuBacktest) => ({ model: b.model, mape: finite(b.mape), rmsse: finite(b.rmsse), absErr: b.errors.sumAbsErr });
  return { sku: s.id, demandClass: champion.demandClass, champion: side(champion), challenger: side(r), actual: champion.errors.sumAbsActual };
}

function checkShadow(shadow: unknown): Serves | undefined {
  if (shadow === undefined || shadow === null) return undefined;
  try {
    return parseServes(shadow, 'shadow');
  } catch (err) {
    throw new BadInputError(`${(err as Error).message} refused`);
  }
}

function checkPolicy(policy: unknown): SelectionOptions['policy'] | undefined {
  if (policy === undefined || policy === null) return undefined;
  if (typeof policy === 'string' && (SELECTION_POLICIES as readonly string[]).includes(policy)) return policy as SelectionOptions['policy'];
  throw new BadInputError(`policy: ${JSON.stringify(policy)} refused: must be one of ${SELECTION_POLICIES.join(', ')}`);
}

function checkPositive(name: string, v: unknown, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new BadInputError(`${name}: ${JSON.stringify(v)} refused: must be a whole number, 1..${max}`);
  }
  return v;
}

async function checkSkus(deps: ActivityDeps, skus: unknown): Promise<string[] | undefined> {
  if (skus === undefined || skus === null) return undefined;
  if (!Array.isArray(skus) || skus.some((s) => typeof s !== 'string' || s === '')) {
    throw new BadInputError('skus: must be a list of SKU ids');
  }
  if (skus.length === 0) throw new BadInputError('skus: the SKU subset is empty');
  const unknown = await unknownSkus(deps.pool, skus, 11);
  if (unknown.length) {
    throw new BadInputError(`skus: unknown SKU${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''}`);
  }
  return skus;
}

export function selectionFrom(cfg: ForecastConfig, policy?: SelectionOptions['policy']): SelectionSettings {
  return {
    policy: policy ?? cfg.SELECTION_POLICY,
    hybridEnabled: cfg.ENABLE_HYBRID_FORECASTING,
    zeroRatioThreshold: cfg.INTERMITTENT_DEMAND_ZERO_RATIO_THRESHOLD,
    cvSquaredThreshold: cfg.INTERMITTENT_DEMAND_CV_SQUARED_THRESHOLD,
    crostonAlpha: cfg.CROSTON_ALPHA,
    tsbAlpha: cfg.TSB_ALPHA,
    tsbBeta: cfg.TSB_BETA,
  };
}

/** class-best reads the environment's latest stored class table; other policies, or none stored: as is. */
async function classTableFor(pool: ActivityDeps['pool'], environment: string, selection: SelectionSettings): Promise<{ selection: SelectionSettings; classTableId?: string }> {
  if (selection.policy !== 'class-best') return { selection };
  const table = await latestClassTable(pool, environment);
  return table ? { selection: { ...selection, classModels: table.classModels }, classTableId: table.id } : { selection };
}

/**
 * Forecast of one SKU; a history too short for any model (new SKU) repeats its last value (0 without
 * sales). Conformal intervals at `levels`, left out for a history too short to calibrate them.
 */
function choiceFor(s: SeriesInput, horizon: number, selection: SelectionSettings, serves?: Serves): ModelChoice {
  if (serves === undefined) return chooseModel(s, { horizon, selection });
  const assigned = servesSelection(serves, selection);
  try {
    return chooseModel(s, { horizon, ...assigned });
  } catch (err) {
    // An assigned model the history is too short for: the environment's policy serves until it is long enough.
    if (assigned.model === undefined || !(err instanceof ForecastInputError)) throw err;
    return chooseModel(s, { horizon, selection });
  }
}

interface OneForecast {
  model: string;
  forecast: ArrayLike<number>;
  intervals?: Interval[];
  /** The shadow challenger's forecast (no intervals: never served); `shared` when it is the same fit. */
  shadow?: { model: string; forecast: ArrayLike<number>; shared: boolean };
}

function forecastOne(s: SeriesInput, horizon: number, selection: SelectionSettings, levels: number[] = [], serves?: Serves, shadow?: Serves): OneForecast {
  if (s.y.length < 2) {
    const naive = { model: 'Naive', forecast: new Float64Array(horizon).fill(s.y.length ? s.y[0] : 0) };
    return shadow === undefined ? naive : { ...naive, shadow: { ...naive, shared: true } };
  }
  const choice = choiceFor(s, horizon, selection, serves);
  const out: OneForecast = forecastChoice(s, choice, { levels, shortIntervals: 'omit' });
  if (shadow === undefined) return out;
  const challenger = choiceFor(s, horizon, selection, shadow);
  // Where both pick the same model and parameters (most regular SKUs), one fit serves both.
  out.shadow = sameChoice(choice, challenger)
    ? { model: out.model, forecast: out.forecast, shared: true }
    : { model: challenger.model, forecast: forecastChoice(s, challenger, {}).forecast, shared: false };
  return out;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---- activities --------------------------------------------------------------------------------

export function createForecastActivities(deps: ActivityDeps) {
  const { pool } = deps;

  const activities = {
    /**
     * Validates the run's input, takes the SKU snapshot cut into batches and inserts the run record,
     * in one transaction: bad input fails at once and leaves nothing written.
     */
    async prepareForecastRun(input: PrepareRunInput): Promise<PreparedRun> {
      const environment = parseEnvironment(input.environment);
      const runDate = checkRunDate(input.runDate);
      const batchSizeOverride = checkOverride('batchSize', 'FORECAST_BATCH_SIZE', input.batchSize);
      const delayOverride = checkOverride('delayMs', 'STREAMING_BATCH_DELAY_MS', input.delayMs);
      const horizonOverride = checkOverride('horizon', 'FORECAST_HORIZON_DAYS', input.horizon);
      const parallelOverride = checkOverride('maxParallel', 'FORECAST_MAX_PARALLEL_BATCHES', input.maxParallel);
      const policy = checkPolicy(input.policy);
      const shadow = checkShadow(input.shadow);
      const subset = await checkSkus(deps, input.skus);
      const cfg = await getEnvironmentConfig(pool, environment);
      const batchSize = batchSizeOverride ?? cfg.FORECAST_BATCH_SIZE;
      const { selection, classTableId } = await classTableFor(pool, environment, selectionFrom(cfg, policy));
      const initialDelayMs = delayOverride ?? cfg.STREAMING_BATCH_DELAY_MS;
      const horizon = horizonOverride ?? cfg.FORECAST_HORIZON_DAYS;
      const snapshot = await withTransaction(pool, async (c) => {
        const snap = await snapshotRunSkus(c, input.runId, batchSize, subset);
        if (snap.skus === 0) throw new BadInputError('the SKU catalogue is empty: generate or import data first (neuro data generate)');
        await insertRun(c, {
          id: input.runId,
          environment,
          runDate,
          skus: snap.skus,
          batches: snap.batches,
          batchDelayMs: initialDelayMs,
          horizon,
          policy: selection.policy,
          intervalLevels: parseLevels([cfg.FORECAST_INTERVAL_LEVELS].filter(Boolean), 'FORECAST_INTERVAL_LEVELS'),
          classTableId,
        });
        return snap;
      });
      return {
        runId: input.runId,
        environment,
        runDate,
        skus: snapshot.skus,
        batches: snapshot.batches,
        batchSize,
        horizon,
        maxParallel: parallelOverride ?? cfg.FORECAST_MAX_PARALLEL_BATCHES,
        initialDelayMs,
        delayOverridden: delayOverride !== undefined,
        selection,
        outlierThreshold: cfg.OUTLIER_MAPE_THRESHOLD,
        memoryLimitMb: cfg.MEMORY_LIMIT_MB,
        ...(shadow ? { shadow } : {}),
        ...(classTableId ? { classTableId } : {}),
      };
    },

    /** STREAMING_BATCH_DELAY_MS of the environment now: read before every gap so a change applies mid-run. */
    async batchDelayMs(environment: string): Promise<number> {
      return (await getEnvironmentConfig(pool, environment)).STREAMING_BATCH_DELAY_MS;
    },

    /** Loads, forecasts and writes one batch; heartbeats its progress. A batch already written is not redone. */
    async forecastBatch(input: ForecastBatchInput): Promise<ForecastBatchResult> {
      const ctx = Context.current();
      const limit = memoryLimitBytes(input.memoryLimitMb).bytes;
      const pct = (mb: number) => (100 * mb * 1024 * 1024) / limit;
      const done = await findBatch(pool, input.runId, input.batchIndex);
      if (done) {
        return {
          batchIndex: input.batchIndex,
          skus: done.skus,
          attempt: done.attempt,
          durationMs: done.durationMs,
          peakRssMb: done.peakRssMb,
          peakMemoryPct: pct(done.peakRssMb),
          modelCounts: await batchModelCounts(pool, input.environment, input.runId, input.batchIndex),
          alreadyDone: true,
        };
      }
      const sampler = rssSampler();
      const gc = gcRecorder();
      const rssStartMb = process.memoryUsage.rss() / (1024 * 1024);
      const started = performance.now();
      const skuIds = await batchSkuIds(pool, input.runId, input.batchIndex);
      if (skuIds.length === 0) throw new BadInputError(`run ${input.runId} has no batch ${input.batchIndex}`);
      const dates = Array.from({ length: input.horizon }, (_, i) => addDays(input.runDate, i));
      const n = skuIds.length * input.horizon;
      const rows = { skuIds: new Array<string>(n), dates: new Array<string>(n), models: new Array<string>(n), values: new Array<number>(n) };
      const modelCounts: Record<string, number> = {};
      const levels = await runIntervalLevels(pool, input.runId);
      const assignments = await assignmentsOf(pool, input.environment, skuIds);
      const served: { sku: string; serves: string; cohort: string | null }[] = [];
      const shadowRows: ShadowForecastRows = { skuIds: [], dates: [], models: [], values: [] };
      const ivRows: IntervalRows = { skuIds: [], dates: [], levels: [], lo: [], hi: [] };
      let lastBeat = performance.now();
      let i = 0;
      let k = 0;
      // Histories stream in chunks: memory stays flat however long the histories and large the batch.
      for await (const s of streamHistories(pool, skuIds, input.runDate)) {
        const assignment = assignments.get(s.id);
        const { model, forecast, intervals, shadow } = forecastOne(s, input.horizon, input.selection, levels, assignment && parseServes(assignment.serves, `assignment of ${s.id}`), input.shadow);
        for (let d = 0; shadow && d < input.horizon; d++) {
          shadowRows.skuIds.push(s.id);
          shadowRows.dates.push(dates[d]);
          shadowRows.models.push(shadow.model);
          shadowRows.values.push(shadow.forecast[d]);
        }
        if (assignment) served.push({ sku: s.id, serves: assignment.serves, cohort: assignment.cohort });
        countInto(modelCounts, model);
        for (const iv of intervals ?? []) {
          for (let d = 0; d < input.horizon; d++) {
            ivRows.skuIds.push(s.id);
            ivRows.dates.push(dates[d]);
            ivRows.levels.push(iv.level);
            ivRows.lo.push(iv.lo[d]);
            ivRows.hi.push(iv.hi[d]);
          }
        }
        for (let d = 0; d < input.horizon; d++, k++) {
          rows.skuIds[k] = s.id;
          rows.dates[k] = dates[d];
          rows.models[k] = model;
          rows.values[k] = forecast[d];
        }
        i++;
        if (performance.now() - lastBeat >= HEARTBEAT_INTERVAL_MS) {
          lastBeat = performance.now();
          sampler.sample();
          progress(ctx, { skusDone: i, skus: skuIds.length });
          await yieldToEventLoop(); // lets heartbeats and the RSS timer run
          if (ctx.cancellationSignal.aborted) await ctx.cancelled;
        }
      }
      const record: BatchRecord = { runId: input.runId, batchIndex: input.batchIndex, skus: skuIds.length, attempt: ctx.info.attempt, durationMs: 0, peakRssMb: 0, rssStartMb };
      await withTransaction(pool, async (c) => {
        await upsertForecasts(c, input.environment, input.runId, rows);
        await upsertIntervals(c, input.environment, input.runId, ivRows);
        await recordRunAssignments(c, input.runId, served);
        await upsertShadowForecasts(c, input.environment, input.runId, shadowRows);
        record.durationMs = performance.now() - started;
        record.peakRssMb = sampler.stop() / (1024 * 1024);
        record.rssEndMb = process.memoryUsage.rss() / (1024 * 1024);
        record.gc = gc.stop();
        await recordBatch(c, record);
      });
      const labels = { environment: input.environment };
      appMetrics.batchDuration.observe(labels, record.durationMs / 1000);
      appMetrics.skus.inc(labels, record.skus);
      appMetrics.skusPerSecond.set(labels, record.skus / Math.max(1e-3, record.durationMs / 1000));
      appMetrics.gcPause.set(labels, (record.gc?.maxMs ?? 0) / 1000);
      return {
        batchIndex: input.batchIndex,
        skus: record.skus,
        attempt: record.attempt,
        durationMs: record.durationMs,
        peakRssMb: record.peakRssMb,
        peakMemoryPct: pct(record.peakRssMb),
        modelCounts,
        alreadyDone: false,
      };
    },

    /** Records the forecasting phase and makes the run the one the API serves (before the cache preload). */
    async finishForecasting(input: { runId: string; environment: string; stats: ForecastedStats }): Promise<void> {
      await markForecasted(pool, input.environment, input.runId, input.stats);
    },

    async completeForecastRun(input: { runId: string; completion: RunCompletion }): Promise<void> {
      await markCompleted(pool, input.runId, input.completion);
      const environment = (await getRun(pool, input.runId))?.environment ?? 'unknown';
      appMetrics.runs.inc({ environment, status: 'completed' });
      appMetrics.runDuration.observe({ environment }, input.completion.durationMs / 1000);
    },

    async failForecastRun(input: { runId: string; error: string }): Promise<void> {
      await markFailed(pool, input.runId, input.error);
      appMetrics.runs.inc({ environment: (await getRun(pool, input.runId))?.environment ?? 'unknown', status: 'failed' });
    },

    /** Accuracy of the environment's most recent stored backtest, when a run does not backtest itself. */
    async latestAccuracy(input: { environment: string; outlierThreshold: number }) {
      return (await latestAccuracy(pool, parseEnvironment(input.environment), input.outlierThreshold)) ?? null;
    },

    async prepareBacktest(input: PrepareBacktestInput): Promise<PreparedBacktest> {
      const environment = parseEnvironment(input.environment);
      const runDate = checkRunDate(input.runDate);
      const batchSizeOverride = checkOverride('batchSize', 'FORECAST_BATCH_SIZE', input.batchSize);
      const horizonOverride = checkOverride('horizon', 'FORECAST_HORIZON_DAYS', input.horizon);
      const windows = checkPositive('windows', input.windows, 365) ?? 4;
      const policy = checkPolicy(input.policy);
      if (input.model !== undefined && input.model !== null && !isModelName(input.model)) {
        throw new BadInputError(`model: ${JSON.stringify(input.model)} refused: unknown model`);
      }
      const outlierOverride = checkOverride('outlierThreshold', 'OUTLIER_MAPE_THRESHOLD', input.outlierThreshold);
      const shadow = checkShadow(input.shadow);
      const subset = await checkSkus(deps, input.skus);
      const cfg = await getEnvironmentConfig(pool, environment);
      const batchSize = batchSizeOverride ?? cfg.FORECAST_BATCH_SIZE;
      const horizon = horizonOverride ?? cfg.FORECAST_HORIZON_DAYS;
      const step = checkPositive('step', input.step, 365) ?? horizon;
      const snapshot = await withTransaction(pool, async (c) => {
        const snap = await snapshotRunSkus(c, input.backtestId, batchSize, subset);
        if (snap.skus === 0) throw new BadInputError('the SKU catalogue is empty: generate or import data first (neuro data generate)');
        return snap;
      });
      const { selection, classTableId } = await classTableFor(pool, environment, selectionFrom(cfg, policy));
      return {
        backtestId: input.backtestId,
        environment,
        runDate,
        skus: snapshot.skus,
        batches: snapshot.batches,
        batchSize,
        horizon,
        windows,
        step,
        model: (input.model ?? undefined) as ModelName | undefined,
        selection,
        outlierThreshold: outlierOverride ?? cfg.OUTLIER_MAPE_THRESHOLD,
        ...(shadow ? { shadow } : {}),
        ...(classTableId ? { classTableId } : {}),
      };
    },

    /**
     * class-best: chooses the class table (chooseClassModels: RMSSE on the last windows of each
     * history up to the run date, 2-standard-error guard) on every k-th SKU of the backtest's
     * snapshot, at most CLASS_TABLE_MAX_SKUS, and stores it under the backtest's id as the
     * environment's latest.
     */
    async chooseClassTable(input: ChooseClassTableInput): Promise<ChosenClassTable> {
      const ctx = Context.current();
      const every = Math.max(1, Math.ceil(input.skus / CLASS_TABLE_MAX_SKUS));
      const sample: SeriesInput[] = [];
      let i = 0;
      for (let b = 0; b < input.batches; b++) {
        for (const s of await loadBatchHistories(pool, input.backtestId, b, input.runDate)) if (i++ % every === 0) sample.push(s);
        ctx.heartbeat({ batchesLoaded: b + 1 });
      }
      const choices = chooseClassModels(sample, { horizon: input.horizon, selection: input.selection });
      await saveClassTable(pool, { id: input.backtestId, environment: input.environment, runDate: input.runDate, horizon: input.horizon, skus: sample.length, choices });
      const classes = Object.fromEntries(Object.entries(choices).filter(([, c]) => c.pairs > 0).map(([k, c]) => [k, classModelLabel(c.chosen)]));
      return { tableId: input.backtestId, skus: sample.length, classes };
    },

    /** Rolling-origin backtest of one batch; per-SKU accuracy upserted in one statement. */
    async backtestBatch(input: BacktestBatchInput): Promise<BacktestBatchResult> {
      const ctx = Context.current();
      const started = performance.now();
      const histories = await loadBatchHistories(pool, input.backtestId, input.batchIndex, input.runDate);
      const acc = { skuIds: [] as string[], models: [] as string[], classes: [] as (string | null)[], mape: [] as (number | null)[], wape: [] as (number | null)[], mase: [] as (number | null)[] };
      const out: BacktestBatchResult = {
        batchIndex: input.batchIndex, skus: 0, skipped: 0, mapeSum: 0, mapeCount: 0, maseSum: 0, maseCount: 0,
        sumAbsErr: 0, sumAbsActual: 0, outlierCount: 0, outliers: [], modelCounts: {}, durationMs: 0,
      };
      const finite = (x: number) => (Number.isFinite(x) ? x : null);
      // Without a fixed model, each SKU is backtested with what serves it: its assignment, else the policy.
      const assignments = input.model === undefined ? await assignmentsOf(pool, input.environment, histories.map((s) => s.id)) : new Map<string, never>();
      const shadow: ShadowRow[] = [];
      let lastBeat = performance.now();
      for (let i = 0; i < histories.length; i++) {
        const common = { horizon: input.horizon, windows: input.windows, step: input.step, outlierThreshold: input.outlierThreshold };
        const assignment = assignments.get(histories[i].id);
        const serves = assignment ? servesSelection(parseServes(assignment.serves, `assignment of ${histories[i].id}`), input.selection) : { model: input.model, selection: input.selection };
        let r;
        try {
          try {
            r = backtestSku(histories[i], { ...common, ...serves });
          } catch (err) {
            // an assigned model the history is too short for: the policy, as in the forecast
            if (!(err instanceof ForecastInputError) || !assignment || serves.model === undefined) throw err;
            r = backtestSku(histories[i], { ...common, selection: input.selection });
          }
        } catch (err) {
          if (!(err instanceof ForecastInputError)) throw err;
          out.skipped++; // too short to backtest (a new SKU): no accuracy row
          continue;
        }
        out.skus++;
        if (input.shadow) shadow.push(shadowRow(histories[i], r, common, input.selection, input.shadow));
        acc.skuIds.push(r.id); acc.models.push(r.model); acc.classes.push(r.demandClass);
        acc.mape.push(finite(r.mape)); acc.wape.push(finite(r.wape)); acc.mase.push(finite(r.mase));
        if (Number.isFinite(r.mape)) { out.mapeSum += r.mape; out.mapeCount++; }
        if (Number.isFinite(r.mase)) { out.maseSum += r.mase; out.maseCount++; }
        out.sumAbsErr += r.errors.sumAbsErr;
        out.sumAbsActual += r.errors.sumAbsActual;
        countInto(out.modelCounts, r.model);
        if (r.outlier) {
          out.outlierCount++;
          out.outliers.push({ sku: r.id, mape: r.mape, model: r.model });
        }
        if (performance.now() - lastBeat >= HEARTBEAT_INTERVAL_MS) {
          lastBeat = performance.now();
          progress(ctx, { skusDone: i + 1, skus: histories.length });
          await yieldToEventLoop();
          if (ctx.cancellationSignal.aborted) await ctx.cancelled;
        }
      }
      out.outliers = out.outliers.sort((a, b) => b.mape - a.mape).slice(0, OUTLIERS_KEPT);
      await withTransaction(pool, async (c) => {
        await upsertAccuracy(c, input.environment, input.accuracyRunId, acc);
        await upsertShadowAccuracy(c, input.environment, input.accuracyRunId, shadow);
      });
      out.durationMs = performance.now() - started;
      return out;
    },
  };
  return { ...activities, forecastBatch: heartbeating(activities.forecastBatch), backtestBatch: heartbeating(activities.backtestBatch) };
}

import { classifyDemand, type DemandClass } from './classify';
import { DEFAULT_CONFORMAL_WINDOWS } from './conformal';
import { predictIntervals } from './engine';
import { ErrorSums, IntervalSums, m5Scale, seasonalNaiveScale } from './metrics';
import type { ModelParams } from './models';
import { predict } from './predict';
import { chooseClassModels, selectModel, type ClassChoice, type ClassSelectionOptions, type SelectionOptions } from './select';
import { ForecastInputError, type ModelName, type SeriesInput } from './types';
import { checkLength, defaultSeasonLength, MIN_HISTORY, validateHorizon, validateModelName, validateSeries } from './validate';

import { DEFAULT_OUTLIER_MAPE } from './limits';

export { DEFAULT_OUTLIER_MAPE };

/** Per-SKU metric that decides outliers (OUTLIER_METRIC); the plan's is MAPE. */
export const OUTLIER_METRICS = ['mape', 'wape', 'mase', 'rmsse'] as const;
export type OutlierMetric = (typeof OUTLIER_METRICS)[number];
/** Default threshold per metric: 25 percent for MAPE/WAPE; 1 (no better than the naive scale) for MASE/RMSSE. */
export const DEFAULT_OUTLIER_THRESHOLD: Record<OutlierMetric, number> = { mape: DEFAULT_OUTLIER_MAPE, wape: 25, mase: 1, rmsse: 1 };

export interface BacktestOptions {
  horizon: number;
  windows: number;
  /** Periods between window origins (default: horizon, i.e. back-to-back windows). */
  step?: number;
  /** One model for every SKU; otherwise the selection policy picks per window. */
  model?: ModelName;
  selection?: Partial<SelectionOptions>;
  params?: ModelParams;
  /** MASE/RMSSE seasonal-naive lag (default 7 for daily data, 52 for weekly). */
  seasonLength?: number;
  /** Metric deciding outliers (default mape). */
  outlierMetric?: OutlierMetric;
  /** A SKU whose outlierMetric is above this is an outlier (default DEFAULT_OUTLIER_THRESHOLD of the metric). */
  outlierThreshold?: number;
  /** Interval levels to score (coverage, pinball); each window calibrates its own conformal intervals. */
  levels?: readonly number[];
  /** Conformal calibration windows inside each training window (default 2). */
  nWindows?: number;
}

export interface SkuBacktest {
  id: string;
  demandClass: DemandClass;
  /** Model used in the last (most recent) window. */
  model: ModelName;
  /** Percent over non-zero actuals of all windows; NaN if every actual was 0. */
  mape: number;
  /** Percent. */
  wape: number;
  /** Mean over windows of that window's MASE (NaN when no window has a scale). */
  mase: number;
  /** Mean over windows of that window's RMSSE (M5 scale, see metrics.ts). */
  rmsse: number;
  /** Error of the horizon totals, percent: sum over windows |sum f - sum y| / sum over windows sum y. */
  totalWape: number;
  /** Per level (key "80", ...): percent of actuals inside the interval. Empty without levels. */
  coverage: Record<string, number>;
  /** Scaled pinball loss (M5 scale, power 1) of all bounds, mean over windows; NaN without levels. */
  spl: number;
  /** Mean forecast - actual. */
  bias: number;
  points: number;
  outlier: boolean;
  /** Raw sums, for catalogue totals. */
  errors: ErrorSums;
  totals: { absErr: number; actual: number };
  intervals: IntervalSums[];
}

/** The per-SKU value the outlier rule reads. */
export const outlierValue = (r: Pick<SkuBacktest, OutlierMetric>, metric: OutlierMetric): number => r[metric];

function windowCuts(sku: string, n: number, h: number, windows: number, step: number): number[] {
  const first = n - h - (windows - 1) * step;
  if (first < MIN_HISTORY) {
    throw new ForecastInputError(sku, `history too short to backtest: ${n} points, ${windows} window(s) of ${h} with step ${step} need at least ${MIN_HISTORY + h + (windows - 1) * step}`);
  }
  const cuts: number[] = [];
  for (let i = 0; i < windows; i++) cuts.push(first + i * step);
  return cuts;
}

function positiveInt(sku: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ForecastInputError(sku, `${name} must be a positive whole number, got ${String(v)}`);
  return v;
}

/**
 * Rolling-origin, expanding-window backtest of one SKU: for each origin, fit on everything before
 * it (selecting the model on that training data when no model is given) and score the next
 * `horizon` periods.
 */
export function backtestSku(series: SeriesInput, opts: BacktestOptions): SkuBacktest {
  validateSeries(series);
  const sku = series.id;
  const h = validateHorizon(sku, opts.horizon);
  const windows = positiveInt(sku, 'windows', opts.windows);
  const step = positiveInt(sku, 'step', opts.step ?? h);
  const fixed = opts.model !== undefined ? validateModelName(sku, opts.model) : undefined;
  const m = opts.seasonLength ?? opts.params?.seasonLength ?? defaultSeasonLength(series.freqDays);
  const params: ModelParams = { ...opts.params, seasonLength: opts.params?.seasonLength ?? m };
  const y = series.y;
  const errors = new ErrorSums();
  const levels = opts.levels ?? [];
  const intervals = levels.map((l) => new IntervalSums(l));
  const totals = { absErr: 0, actual: 0 };
  let maseSum = 0, maseN = 0, rmsseSum = 0, rmsseN = 0, splSum = 0, splN = 0;
  let model: ModelName = fixed ?? 'Naive';
  for (const cut of windowCuts(sku, y.length, h, windows, step)) {
    const train: SeriesInput = { ...series, y: y.subarray(0, cut) };
    let p = params;
    if (fixed) model = fixed;
    else ({ model, params: p } = selectModel(train, opts.selection, { horizon: h, seasonLength: m, params }));
    checkLength(train, model, params.seasonLength ?? m);
    const f = predict(train, model, p, h);
    const w = new ErrorSums().add(y, f, cut);
    errors.merge(w);
    const s1 = seasonalNaiveScale(y, m, 1, cut);
    if (s1 > 0) { maseSum += w.mae / s1; maseN++; }
    const s2 = m5Scale(y, 2, cut);
    if (s2 > 0) { rmsseSum += Math.sqrt(w.mse / s2); rmsseN++; }
    let fSum = 0, ySum = 0;
    for (let i = 0; i < h; i++) { fSum += f[i]; ySum += y[cut + i]; }
    totals.absErr += Math.abs(fSum - ySum);
    totals.actual += ySum;
    if (levels.length > 0) scoreIntervals(train, model, p, f, levels, opts.nWindows, y, cut, intervals, (v) => { splSum += v; splN++; });
  }
  const metric = opts.outlierMetric ?? 'mape';
  const threshold = opts.outlierThreshold ?? DEFAULT_OUTLIER_THRESHOLD[metric];
  const maseV = maseN > 0 ? maseSum / maseN : NaN;
  const rmsseV = rmsseN > 0 ? rmsseSum / rmsseN : NaN;
  const coverage: Record<string, number> = {};
  for (const iv of intervals) coverage[String(iv.level)] = iv.coverage;
  const metrics = { mape: errors.mape, wape: errors.wape, mase: maseV, rmsse: rmsseV };
  return {
    id: sku,
    demandClass: classifyDemand(y, { cv2: opts.selection?.cvSquaredThreshold }),
    model,
    ...metrics,
    totalWape: totals.actual > 0 ? (100 * totals.absErr) / totals.actual : NaN,
    coverage,
    spl: splN > 0 ? splSum / splN : NaN,
    bias: errors.bias,
    points: errors.points,
    outlier: outlierValue(metrics, metric) > threshold,
    errors,
    totals,
    intervals,
  };
}

/**
 * Calibrates conformal intervals on one training window and scores them on the window's actuals.
 * A training window too short to calibrate (fewer than 2h + 1 points) is left out of the interval
 * scores only.
 */
function scoreIntervals(
  train: SeriesInput, model: ModelName, p: ModelParams, f: Float64Array, levels: readonly number[], nWindows: number | undefined,
  y: Float64Array, cut: number, into: IntervalSums[], addSpl: (v: number) => void,
): void {
  let ivs;
  try {
    ivs = predictIntervals(train, model, p, f, levels, nWindows ?? DEFAULT_CONFORMAL_WINDOWS);
  } catch (e) {
    if (e instanceof ForecastInputError) return;
    throw e;
  }
  const scale = m5Scale(y, 1, cut);
  let pin = 0, pts = 0;
  ivs.forEach((iv, k) => {
    const w = new IntervalSums(iv.level).add(y, iv.lo, iv.hi, cut);
    into[k].merge(w);
    pin += w.sumPinball;
    pts += 2 * w.points;
  });
  if (scale > 0) addSpl(pin / pts / scale);
}

export interface BacktestSummary {
  skus: number;
  /** Mean of per-SKU MAPE over SKUs where it is defined (percent). */
  mape: number;
  /** sum|e| / sum|y| over every SKU and window (percent). */
  wape: number;
  /** Mean of per-SKU MASE where defined. */
  mase: number;
  /** Mean of per-SKU RMSSE where defined (unweighted; M5 weighted by sales). */
  rmsse: number;
  /** Error of the horizon totals over every SKU and window (percent). */
  totalWape: number;
  bias: number;
  /** Levels scored; coverage per level pooled over every SKU and window (percent). */
  levels: number[];
  coverage: Record<string, number>;
  /** Mean of per-SKU scaled pinball loss where defined (NaN without levels). */
  spl: number;
  outlierMetric: OutlierMetric;
  outlierThreshold: number;
  outlierCount: number;
  /** Mean MAPE of the outlier SKUs (NaN without outliers). */
  avgOutlierMape: number;
  /** Mean outlierMetric of the outlier SKUs (NaN without outliers). */
  avgOutlierValue: number;
  /** Count of SKUs per model (last window's choice). */
  models: Partial<Record<ModelName, number>>;
  /** SKUs refused as bad or too-short input. */
  skipped: number;
  /** class-best: the per-class table chosen on the data before the first window. */
  classChoices?: Record<string, ClassChoice>;
}

export interface CatalogueBacktest {
  summary: BacktestSummary;
  /** Per-SKU results without the raw sums (empty when keepSkus is false). */
  skus: SkuRow[];
  /** First 100 refused SKUs and why. */
  skippedSkus: { id: string; problem: string }[];
}

export type SkuRow = Omit<SkuBacktest, 'errors' | 'totals' | 'intervals'>;

export interface CatalogueOptions extends BacktestOptions {
  /** Keep per-SKU rows in the result (default true); false keeps memory flat in SKU count. */
  keepSkus?: boolean;
  /** Called with every SKU's result as it is computed. */
  onSku?: (r: SkuRow) => void;
  /** class-best without a table: how chooseClassModels chooses it (windows, candidates, combinations). */
  classSelection?: Omit<ClassSelectionOptions, 'horizon' | 'selection'>;
}

/**
 * Backtests a catalogue SKU by SKU from a sync or async iterable, holding only running totals
 * (and, unless keepSkus is false, one small row per SKU). A SKU with bad or too-short input is
 * counted as skipped; any other error propagates.
 */
export async function backtestCatalogue(
  series: Iterable<SeriesInput> | AsyncIterable<SeriesInput>,
  opts: CatalogueOptions,
): Promise<CatalogueBacktest> {
  const total = new ErrorSums();
  const metric = opts.outlierMetric ?? 'mape';
  const threshold = opts.outlierThreshold ?? DEFAULT_OUTLIER_THRESHOLD[metric];
  const levels = [...(opts.levels ?? [])];
  const intervals = levels.map((l) => new IntervalSums(l));
  let skus = 0, mapeSum = 0, mapeN = 0, maseSum = 0, maseN = 0, rmsseSum = 0, rmsseN = 0, splSum = 0, splN = 0;
  let outlierCount = 0, outlierMapeSum = 0, outlierValueSum = 0, skipped = 0, totAbs = 0, totActual = 0;
  const models: Partial<Record<ModelName, number>> = {};
  const rows: SkuRow[] = [];
  const skippedSkus: { id: string; problem: string }[] = [];
  let input: Iterable<SeriesInput> | AsyncIterable<SeriesInput> = series;
  let classChoices: Record<string, ClassChoice> | undefined;
  let selection = opts.selection;
  if (opts.model === undefined && opts.selection?.policy === 'class-best' && !opts.selection.classModels) {
    // the table is chosen on each SKU's history before its first backtest origin: no look-ahead
    const all: SeriesInput[] = [];
    for await (const s of series) all.push(s);
    input = all;
    const step = opts.step ?? opts.horizon;
    const cutAt = (s: SeriesInput) => ({ ...s, y: s.y.subarray(0, Math.max(0, s.y.length - opts.horizon - (opts.windows - 1) * step)) });
    classChoices = chooseClassModels(all.map(cutAt), { seasonLength: opts.seasonLength, ...opts.classSelection, horizon: opts.horizon, selection: opts.selection });
    selection = { ...opts.selection, classModels: Object.fromEntries(Object.entries(classChoices).map(([k, c]) => [k, c.chosen])) };
  }
  for await (const s of input) {
    let r: SkuBacktest;
    try {
      r = backtestSku(s, { ...opts, selection, outlierMetric: metric, outlierThreshold: threshold });
    } catch (e) {
      if (!(e instanceof ForecastInputError)) throw e;
      skipped++;
      if (skippedSkus.length < 100) skippedSkus.push({ id: e.sku, problem: e.problem });
      continue;
    }
    skus++;
    total.merge(r.errors);
    if (Number.isFinite(r.mape)) { mapeSum += r.mape; mapeN++; }
    if (Number.isFinite(r.mase)) { maseSum += r.mase; maseN++; }
    if (Number.isFinite(r.rmsse)) { rmsseSum += r.rmsse; rmsseN++; }
    if (Number.isFinite(r.spl)) { splSum += r.spl; splN++; }
    if (r.outlier) { outlierCount++; outlierMapeSum += r.mape; outlierValueSum += outlierValue(r, metric); }
    totAbs += r.totals.absErr;
    totActual += r.totals.actual;
    r.intervals.forEach((iv, k) => intervals[k].merge(iv));
    models[r.model] = (models[r.model] ?? 0) + 1;
    const row: Partial<SkuBacktest> = { ...r };
    delete row.errors;
    delete row.totals;
    delete row.intervals;
    if (opts.keepSkus !== false) rows.push(row as SkuRow);
    opts.onSku?.(row as SkuRow);
  }
  return {
    summary: {
      skus,
      mape: mapeN > 0 ? mapeSum / mapeN : NaN,
      wape: total.wape,
      mase: maseN > 0 ? maseSum / maseN : NaN,
      rmsse: rmsseN > 0 ? rmsseSum / rmsseN : NaN,
      totalWape: totActual > 0 ? (100 * totAbs) / totActual : NaN,
      bias: total.bias,
      levels,
      coverage: Object.fromEntries(intervals.map((iv) => [String(iv.level), iv.coverage])),
      spl: splN > 0 ? splSum / splN : NaN,
      outlierMetric: metric,
      outlierThreshold: threshold,
      outlierCount,
      avgOutlierMape: outlierCount > 0 ? outlierMapeSum / outlierCount : NaN,
      avgOutlierValue: outlierCount > 0 ? outlierValueSum / outlierCount : NaN,
      models,
      skipped,
      ...(classChoices ? { classChoices } : {}),
    },
    skus: rows,
    skippedSkus,
  };
}

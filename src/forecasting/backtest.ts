import { classifyDemand, type DemandClass } from './classify';
import { ErrorSums, seasonalNaiveScale } from './metrics';
import type { ModelParams } from './models';
import { predict } from './predict';
import { selectModel, type SelectionOptions } from './select';
import { ForecastInputError, type ModelName, type SeriesInput } from './types';
import { checkLength, defaultSeasonLength, MIN_HISTORY, validateHorizon, validateModelName, validateSeries } from './validate';

import { DEFAULT_OUTLIER_MAPE } from './limits';

export { DEFAULT_OUTLIER_MAPE };

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
  /** A SKU whose MAPE (percent) is above this is an outlier (default 25). */
  outlierThreshold?: number;
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
  rmsse: number;
  /** Mean forecast - actual. */
  bias: number;
  points: number;
  outlier: boolean;
  /** Raw sums, for catalogue totals. */
  errors: ErrorSums;
}

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
  let maseSum = 0, maseN = 0, rmsseSum = 0, rmsseN = 0;
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
    const s2 = seasonalNaiveScale(y, m, 2, cut);
    if (s2 > 0) { rmsseSum += Math.sqrt(w.mse / s2); rmsseN++; }
  }
  const threshold = opts.outlierThreshold ?? DEFAULT_OUTLIER_MAPE;
  return {
    id: sku,
    demandClass: classifyDemand(y, { cv2: opts.selection?.cvSquaredThreshold }),
    model,
    mape: errors.mape,
    wape: errors.wape,
    mase: maseN > 0 ? maseSum / maseN : NaN,
    rmsse: rmsseN > 0 ? rmsseSum / rmsseN : NaN,
    bias: errors.bias,
    points: errors.points,
    outlier: errors.mape > threshold,
    errors,
  };
}

export interface BacktestSummary {
  skus: number;
  /** Mean of per-SKU MAPE over SKUs where it is defined (percent). */
  mape: number;
  /** sum|e| / sum|y| over every SKU and window (percent). */
  wape: number;
  /** Mean of per-SKU MASE where defined. */
  mase: number;
  rmsse: number;
  bias: number;
  outlierThreshold: number;
  outlierCount: number;
  /** Mean MAPE of the outlier SKUs (NaN without outliers). */
  avgOutlierMape: number;
  /** Count of SKUs per model (last window's choice). */
  models: Partial<Record<ModelName, number>>;
  /** SKUs refused as bad or too-short input. */
  skipped: number;
}

export interface CatalogueBacktest {
  summary: BacktestSummary;
  /** Per-SKU results without the raw sums (empty when keepSkus is false). */
  skus: Omit<SkuBacktest, 'errors'>[];
  /** First 100 refused SKUs and why. */
  skippedSkus: { id: string; problem: string }[];
}

export interface CatalogueOptions extends BacktestOptions {
  /** Keep per-SKU rows in the result (default true); false keeps memory flat in SKU count. */
  keepSkus?: boolean;
  /** Called with every SKU's result as it is computed. */
  onSku?: (r: Omit<SkuBacktest, 'errors'>) => void;
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
  const threshold = opts.outlierThreshold ?? DEFAULT_OUTLIER_MAPE;
  let skus = 0, mapeSum = 0, mapeN = 0, maseSum = 0, maseN = 0, rmsseSum = 0, rmsseN = 0;
  let outlierCount = 0, outlierMapeSum = 0, skipped = 0;
  const models: Partial<Record<ModelName, number>> = {};
  const rows: Omit<SkuBacktest, 'errors'>[] = [];
  const skippedSkus: { id: string; problem: string }[] = [];
  for await (const s of series) {
    let r: SkuBacktest;
    try {
      r = backtestSku(s, { ...opts, outlierThreshold: threshold });
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
    if (r.outlier) { outlierCount++; outlierMapeSum += r.mape; }
    models[r.model] = (models[r.model] ?? 0) + 1;
    const row: Omit<SkuBacktest, 'errors'> = { ...r };
    delete (row as Partial<SkuBacktest>).errors;
    if (opts.keepSkus !== false) rows.push(row);
    opts.onSku?.(row);
  }
  return {
    summary: {
      skus,
      mape: mapeN > 0 ? mapeSum / mapeN : NaN,
      wape: total.wape,
      mase: maseN > 0 ? maseSum / maseN : NaN,
      rmsse: rmsseN > 0 ? rmsseSum / rmsseN : NaN,
      bias: total.bias,
      outlierThreshold: threshold,
      outlierCount,
      avgOutlierMape: outlierCount > 0 ? outlierMapeSum / outlierCount : NaN,
      models,
      skipped,
    },
    skus: rows,
    skippedSkus,
  };
}

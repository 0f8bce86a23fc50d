import { classifyDemand, type DemandClass } from './classify';
import { conformalIntervals, conformalWindows, conformityScores, DEFAULT_CONFORMAL_WINDOWS, type Interval } from './conformal';
import type { ModelParams } from './models';
import { predict } from './predict';
import { selectModel, type SelectionOptions } from './select';
import type { ModelName, SeriesInput } from './types';
import { checkLength, defaultSeasonLength, validateHorizon, validateModelName, validateSeries } from './validate';

export interface ForecastOptions {
  horizon: number;
  /** One model for this SKU; otherwise the selection policy picks. */
  model?: ModelName;
  selection?: Partial<SelectionOptions>;
  params?: ModelParams;
  /** Prediction-interval levels in percent (parseLevels: ascending, 0 < level < 100); none = no intervals. */
  levels?: readonly number[];
  /** Conformal calibration windows (default 2). */
  nWindows?: number;
  /** A history too short for intervals: refuse (default, ForecastInputError) or omit them. */
  shortIntervals?: 'refuse' | 'omit';
}

export interface SkuForecast {
  model: ModelName;
  demandClass: DemandClass;
  forecast: Float64Array;
  /** Why this model (selection policy) or "requested". */
  reason: string;
  /** One per requested level, ascending; bounds cut to 0 like the forecast. */
  intervals?: Interval[];
}

/**
 * Conformal intervals of `model` around `mean` (see conformal.ts), each window's forecast made
 * exactly as the engine serves it. Cutting the bounds at 0 cannot change coverage (demand is never
 * negative) and only lowers the pinball loss.
 */
export function predictIntervals(
  series: SeriesInput,
  model: ModelName,
  params: ModelParams,
  mean: Float64Array,
  levels: readonly number[],
  nWindows = DEFAULT_CONFORMAL_WINDOWS,
): Interval[] {
  const h = mean.length;
  const scores = conformityScores(series.id, series.y, h, nWindows, (y) => predict({ ...series, y }, model, params, h));
  const out = conformalIntervals(mean, scores, levels);
  for (const { lo, hi } of out) {
    for (let i = 0; i < h; i++) {
      if (lo[i] < 0) lo[i] = 0;
      if (hi[i] < 0) hi[i] = 0;
    }
  }
  return out;
}

/**
 * The engine's one entry point: validates the input (ForecastInputError naming the SKU), picks
 * the model (explicit, or by policy), fits and forecasts `horizon` periods, with conformal
 * intervals when levels are given. An all-zero history forecasts zeros (and zero-width intervals
 * at zero); forecasts are never negative.
 */
export function forecastSku(series: SeriesInput, opts: ForecastOptions): SkuForecast {
  return forecastChoice(series, chooseModel(series, opts), opts);
}

/** The model picked for a SKU and its parameters: the first half of forecastSku. */
export interface ModelChoice {
  model: ModelName;
  params: ModelParams;
  demandClass: DemandClass;
  reason: string;
  horizon: number;
}

export function chooseModel(series: SeriesInput, opts: ForecastOptions): ModelChoice {
  validateSeries(series);
  const h = validateHorizon(series.id, opts.horizon);
  const seasonLength = opts.params?.seasonLength ?? defaultSeasonLength(series.freqDays);
  const params: ModelParams = { ...opts.params, seasonLength };
  if (opts.model !== undefined) {
    const model = validateModelName(series.id, opts.model);
    checkLength(series, model, seasonLength);
    return { model, params, demandClass: classifyDemand(series.y, { cv2: opts.selection?.cvSquaredThreshold }), reason: 'requested', horizon: h };
  }
  const sel = selectModel(series, opts.selection, { horizon: h, seasonLength, params });
  checkLength(series, sel.model, seasonLength);
  return { model: sel.model, params: sel.params, demandClass: sel.demandClass, reason: sel.reason, horizon: h };
}

/** Fits the chosen model and forecasts, with intervals when levels are given: the second half. */
export function forecastChoice(series: SeriesInput, choice: ModelChoice, opts: Pick<ForecastOptions, 'levels' | 'nWindows' | 'shortIntervals'>): SkuForecast {
  const { model, params, demandClass, reason, horizon } = choice;
  const forecast = predict(series, model, params, horizon);
  const out: SkuForecast = { model, demandClass, forecast, reason };
  if (opts.levels?.length) {
    const windows = conformalWindows(series.y.length, horizon, opts.nWindows ?? DEFAULT_CONFORMAL_WINDOWS);
    if (windows >= 2 || opts.shortIntervals !== 'omit') out.intervals = predictIntervals(series, model, params, forecast, opts.levels, opts.nWindows);
  }
  return out;
}

/** Same model and parameters: one fit serves both. */
export const sameChoice = (a: ModelChoice, b: ModelChoice): boolean =>
  a.model === b.model && a.horizon === b.horizon && JSON.stringify(a.params) === JSON.stringify(b.params);

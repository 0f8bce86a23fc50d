import { classifyDemand, type DemandClass } from './classify';
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
}

export interface SkuForecast {
  model: ModelName;
  demandClass: DemandClass;
  forecast: Float64Array;
  /** Why this model (selection policy) or "requested". */
  reason: string;
}

/**
 * The engine's one entry point: validates the input (ForecastInputError naming the SKU), picks
 * the model (explicit, or by policy), fits and forecasts `horizon` periods. An all-zero history
 * forecasts zeros; forecasts are never negative.
 */
export function forecastSku(series: SeriesInput, opts: ForecastOptions): SkuForecast {
  validateSeries(series);
  const h = validateHorizon(series.id, opts.horizon);
  const seasonLength = opts.params?.seasonLength ?? defaultSeasonLength(series.freqDays);
  const params: ModelParams = { ...opts.params, seasonLength };
  let model: ModelName;
  let modelParams = params;
  let reason = 'requested';
  let demandClass: DemandClass;
  if (opts.model !== undefined) {
    model = validateModelName(series.id, opts.model);
    demandClass = classifyDemand(series.y, { cv2: opts.selection?.cvSquaredThreshold });
  } else {
    const sel = selectModel(series, opts.selection, { horizon: h, seasonLength, params });
    ({ model, demandClass, reason } = sel);
    modelParams = sel.params;
  }
  checkLength(series, model, seasonLength);
  return { model, demandClass, forecast: predict(series, model, modelParams, h), reason };
}

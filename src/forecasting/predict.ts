import { allZero } from './models/intermittent';
import { createModel, type ModelParams } from './models';
import type { ModelName, SeriesInput } from './types';

/**
 * Fits one model and forecasts h periods, as the engine serves it: an all-zero history forecasts
 * zeros whatever the model, and negative forecasts (possible with trend models) are cut to 0
 * because demand cannot be negative. Input is assumed valid.
 */
export function predict(series: SeriesInput, model: ModelName, params: ModelParams, h: number): Float64Array {
  if (allZero(series.y)) return new Float64Array(h);
  const f = createModel(model, params, series.id).fit(series).forecast(h);
  for (let i = 0; i < h; i++) if (f[i] < 0) f[i] = 0;
  return f;
}

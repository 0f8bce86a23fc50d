import type { FitResult, Model, ModelName, SeriesInput } from '../types';

export type Combine = 'mean' | 'median';

/**
 * A forecast combination: every member is fitted on the same history and the per-period mean (or
 * median) of their forecasts is the forecast, each member's negative values cut to 0 first (as
 * the engine serves them). A member's NaN (SeasonalNaive shorter than a season) is left out; all
 * NaN gives NaN. Combinations of diverse models are among the most reliable wins in the
 * forecasting literature (M4, M5; Petropoulos & Kourentzes 2015 for intermittent demand).
 */
export class Ensemble implements Model {
  constructor(
    readonly name: ModelName,
    private readonly members: readonly Model[],
    private readonly combine: Combine = 'mean',
  ) {}

  fit(series: SeriesInput): FitResult {
    const fits = this.members.map((m) => m.fit(series));
    return { forecast: (h) => combineForecasts(fits.map((f) => f.forecast(h)), h, this.combine) };
  }
}

/** Per-period mean or median of the forecasts, negatives cut to 0 and NaNs left out. */
export function combineForecasts(forecasts: readonly Float64Array[], h: number, combine: Combine): Float64Array {
  const out = new Float64Array(h);
  const col = new Float64Array(forecasts.length);
  for (let i = 0; i < h; i++) {
    let k = 0;
    for (const f of forecasts) {
      const v = f[i];
      if (!Number.isNaN(v)) col[k++] = v < 0 ? 0 : v;
    }
    if (k === 0) out[i] = NaN;
    else if (combine === 'mean') {
      let s = 0;
      for (let j = 0; j < k; j++) s += col[j];
      out[i] = s / k;
    } else {
      const sorted = col.subarray(0, k).sort();
      out[i] = k % 2 === 1 ? sorted[(k - 1) / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
    }
  }
  return out;
}

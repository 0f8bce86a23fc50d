import type { FitResult, Model, ModelName, SeriesInput } from '../types';
import { checkSeasonLength, constant, lazyFitted } from './util';

/** Last value repeated; fitted = previous value. */
export class Naive implements Model {
  readonly name: ModelName = 'Naive';
  fit({ y }: SeriesInput): FitResult {
    return lazyFitted(constant(y[y.length - 1]), () => {
      const out = new Float64Array(y.length);
      out[0] = NaN;
      out.set(y.subarray(0, y.length - 1), 1);
      return out;
    });
  }
}

/**
 * The last season repeated. As in statsforecast, a history shorter than one season is aligned to
 * the end of the season and the positions without an observation forecast NaN.
 */
export function seasonalNaiveForecast(y: Float64Array, seasonLength: number, h: number): Float64Array {
  const n = y.length;
  const season = new Float64Array(seasonLength).fill(NaN);
  const avail = Math.min(seasonLength, n);
  season.set(y.subarray(n - avail), seasonLength - avail);
  const out = new Float64Array(h);
  for (let i = 0; i < h; i++) out[i] = season[i % seasonLength];
  return out;
}

export class SeasonalNaive implements Model {
  readonly name: ModelName = 'SeasonalNaive';
  constructor(readonly seasonLength = 7) {
    checkSeasonLength(seasonLength);
  }
  fit({ y }: SeriesInput): FitResult {
    const m = this.seasonLength;
    return lazyFitted(
      (h) => seasonalNaiveForecast(y, m, h),
      () => {
        const out = new Float64Array(y.length).fill(NaN);
        for (let i = m; i < y.length; i++) out[i] = y[i - m];
        return out;
      },
    );
  }
}

/**
 * The mean of the whole history (statsforecast's HistoricAverage); fitted = that mean. On near-
 * stationary sparse demand it is hard to beat on RMSSE, whose best forecast is the mean rate.
 */
export class HistoricAverage implements Model {
  readonly name: ModelName = 'HistoricAverage';
  fit({ y }: SeriesInput): FitResult {
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += y[i];
    const avg = sum / y.length;
    return lazyFitted(constant(avg), () => new Float64Array(y.length).fill(avg));
  }
}

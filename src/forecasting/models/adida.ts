import type { FitResult, Model, ModelName, SeriesInput } from '../types';
import { allZero, chunkForecast, meanInterval } from './intermittent';
import { zeroFit } from './tsb';
import { constant, lazyFitted, roundHalfAway, roundHalfEven } from './util';

/**
 * ADIDA: aggregate into buckets of round(mean inter-demand interval) periods (half to even, as
 * Python's round), forecast the bucket sum by optimised SES, spread it evenly over the bucket.
 */
export function adidaForecast(y: Float64Array): number {
  const level = roundHalfEven(meanInterval(y));
  return chunkForecast(y, y.length, level) / level;
}

/** Fitted value at t + 1 uses only y[0..t] and the aggregation level known at t. */
function adidaFitted(y: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  out[0] = NaN;
  let count = 0;
  let last = -1;
  for (let i = 0; i + 1 < y.length; i++) {
    if (y[i] !== 0) { count++; last = i; }
    const level = count === 0 ? 1 : roundHalfEven((last + 1) / count);
    out[i + 1] = chunkForecast(y, i + 1, level) / level;
  }
  return out;
}

export class ADIDA implements Model {
  readonly name: ModelName = 'ADIDA';
  fit({ y }: SeriesInput): FitResult {
    if (allZero(y)) return zeroFit(y.length);
    return lazyFitted(constant(adidaForecast(y)), () => adidaFitted(y));
  }
}

/** Mean over aggregation levels 1..maxLevel of the per-period ADIDA-style forecast of y[0..n). */
function levelsMean(y: Float64Array, n: number, maxLevel: number): number {
  let sum = 0;
  for (let level = 1; level <= maxLevel; level++) sum += chunkForecast(y, n, level) / level;
  return sum / maxLevel;
}

/** IMAPA: ADIDA averaged over every aggregation level up to round(mean interval). */
export function imapaForecast(y: Float64Array): number {
  return levelsMean(y, y.length, roundHalfEven(meanInterval(y)));
}

/** statsforecast computes these in C++ with std::round (half away from zero), capped at t. */
function imapaFitted(y: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  out[0] = NaN;
  let count = 0;
  let last = -1;
  for (let i = 1; i < y.length; i++) {
    if (y[i - 1] !== 0) { count++; last = i - 1; }
    if (count === 0) continue; // stays 0
    const maxLevel = Math.min(Math.max(1, roundHalfAway((last + 1) / count)), i);
    out[i] = levelsMean(y, i, maxLevel);
  }
  return out;
}

export class IMAPA implements Model {
  readonly name: ModelName = 'IMAPA';
  fit({ y }: SeriesInput): FitResult {
    if (allZero(y)) return zeroFit(y.length);
    return lazyFitted(constant(imapaForecast(y)), () => imapaFitted(y));
  }
}

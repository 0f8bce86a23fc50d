/**
 * Conformal prediction intervals, statsforecast 2.1.x's ConformalIntervals(h, n_windows,
 * method='conformal_distribution'): the model is refitted on the history cut at the starts of the
 * last n_windows back-to-back windows of h periods (n_windows is lowered to (n - 1) // h for a
 * short series, and fewer than 2 is an error); the conformity scores are |forecast - actual| per
 * window and step. For each step, the 2 x n_windows values mean ± score are the sample whose
 * linear-interpolation quantiles (numpy's default) at alpha/200 and 1 - alpha/200, alpha = 100 -
 * level, are the lower and upper bounds. Distribution-free, so it works for every model the same
 * way, Prophet included (whose own intervals come from random trend simulations).
 */
import { ForecastInputError } from './types';

export const DEFAULT_CONFORMAL_WINDOWS = 2;

export interface Interval {
  level: number;
  lo: Float64Array;
  hi: Float64Array;
}

/** Windows actually used for a history of n points: min(nWindows, (n - 1) // h). */
export function conformalWindows(n: number, h: number, nWindows: number): number {
  return Math.min(nWindows, Math.floor((n - 1) / h));
}

/**
 * Conformity scores, one row per window (oldest first): |forecastFrom(y[0..cut)) - y[cut..cut+h)|.
 * Throws ForecastInputError when the history has room for fewer than two windows.
 */
export function conformityScores(
  sku: string,
  y: Float64Array,
  h: number,
  nWindows: number,
  forecastFrom: (train: Float64Array) => Float64Array,
): Float64Array[] {
  const n = y.length;
  const w = conformalWindows(n, h, nWindows);
  if (w < 2) {
    throw new ForecastInputError(sku, `history too short for prediction intervals: ${n} point(s), need at least ${2 * h + 1} for horizon ${h}`);
  }
  const rows: Float64Array[] = [];
  for (let i = 0; i < w; i++) {
    const cut = n - w * h + i * h;
    const f = forecastFrom(y.subarray(0, cut));
    const row = new Float64Array(h);
    for (let j = 0; j < h; j++) row[j] = Math.abs(f[j] - y[cut + j]);
    rows.push(row);
  }
  return rows;
}

/** numpy.quantile(method='linear') of sorted values; NaN if any value is NaN (as numpy). */
function quantileSorted(v: Float64Array, q: number): number {
  const pos = q * (v.length - 1);
  const i = Math.floor(pos);
  const t = pos - i;
  if (i + 1 >= v.length) return v[v.length - 1];
  const a = v[i], b = v[i + 1];
  // numpy's _lerp: from the nearer end, so the result is exact at t = 0 and t = 1
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** The intervals of `mean` at each level (ascending) from conformity scores. */
export function conformalIntervals(mean: Float64Array, scores: readonly Float64Array[], levels: readonly number[]): Interval[] {
  const h = mean.length;
  const out: Interval[] = levels.map((level) => ({ level, lo: new Float64Array(h), hi: new Float64Array(h) }));
  const sample = new Float64Array(2 * scores.length);
  for (let j = 0; j < h; j++) {
    let nan = false;
    scores.forEach((row, i) => {
      sample[i] = mean[j] - row[j];
      sample[scores.length + i] = mean[j] + row[j];
      if (Number.isNaN(row[j]) || Number.isNaN(mean[j])) nan = true;
    });
    sample.sort();
    for (const iv of out) {
      const alpha = 100 - iv.level;
      iv.lo[j] = nan ? NaN : quantileSorted(sample, alpha / 200);
      iv.hi[j] = nan ? NaN : quantileSorted(sample, 1 - alpha / 200);
    }
  }
  return out;
}

/**
 * Interval levels from user input (numbers, or strings that may hold comma-separated lists):
 * each strictly between 0 and 100; returned ascending without duplicates. `name` is the flag or
 * field named in the error.
 */
export function parseLevels(raw: readonly (string | number)[], name = '--level'): number[] {
  const out = new Set<number>();
  for (const item of raw) {
    for (const part of typeof item === 'number' ? [item] : item.split(',')) {
      const s = String(part).trim();
      const v = typeof part === 'number' ? part : s === '' ? NaN : Number(s);
      if (!(Number.isFinite(v) && v > 0 && v < 100)) {
        throw new RangeError(`${name} must be a number strictly between 0 and 100 (e.g. 80 or 95), got "${s}"`);
      }
      out.add(v);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** Checks a conformal window count (statsforecast needs at least 2). */
export function validateWindows(nWindows: unknown, name = '--n-windows'): number {
  if (typeof nWindows !== 'number' || !Number.isInteger(nWindows) || nWindows < 2) {
    throw new RangeError(`${name} must be a whole number >= 2, got ${String(nWindows)}`);
  }
  return nWindows;
}

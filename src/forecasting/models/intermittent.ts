/** Shared pieces of the intermittent-demand models (Croston family, TSB, ADIDA, IMAPA). */
import { goldenSectionSes, sesForecast } from './ses';

/** Reusable scratch buffer: fits are synchronous, so one per purpose is enough. */
const scratch: Float64Array[] = [new Float64Array(1024), new Float64Array(1024), new Float64Array(1024)];
export function scratchBuffer(slot: number, n: number): Float64Array {
  if (scratch[slot].length < n) scratch[slot] = new Float64Array(Math.max(n, 2 * scratch[slot].length));
  return scratch[slot];
}

export function allZero(y: Float64Array): boolean {
  for (let i = 0; i < y.length; i++) if (y[i] !== 0) return false;
  return true;
}

/** Positive values of y (the demand sizes), copied into out; returns their count. */
export function demandInto(y: Float64Array, out: Float64Array): number {
  let k = 0;
  for (let i = 0; i < y.length; i++) if (y[i] > 0) out[k++] = y[i];
  return k;
}

/** Periods between non-zero values (the first counted from before t = 0) into out; returns count. */
export function intervalsInto(y: Float64Array, out: Float64Array): number {
  let k = 0;
  let last = -1;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 0) {
      out[k++] = i - last;
      last = i;
    }
  }
  return k;
}

/** Mean inter-demand interval of y[0..n) (NaN without demand). */
export function meanInterval(y: Float64Array, n = y.length): number {
  let k = 0;
  let last = -1;
  for (let i = 0; i < n; i++) if (y[i] !== 0) { k++; last = i; }
  // the intervals telescope: their sum is the index of the last non-zero value + 1
  return (last + 1) / k;
}

/**
 * Spreads fitted values of the demand sizes (fitted[0..k], one more than demands) over the
 * timeline: each period gets the estimate made after the last demand seen before it.
 */
export function expandFittedDemand(fitted: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  out[0] = NaN;
  let idx = 0;
  for (let i = 1; i < y.length; i++) {
    if (y[i - 1] > 0) out[i] = fitted[++idx];
    else if (idx > 0) out[i] = out[i - 1];
    else out[i] = y[i - 1];
  }
  return out;
}

/** Same for intervals; an interval estimate of 0, or none yet, counts as 1. */
export function expandFittedIntervals(fitted: Float64Array, y: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  out[0] = NaN;
  let idx = 0;
  for (let i = 1; i < y.length; i++) {
    if (y[i - 1] !== 0) {
      const f = fitted[++idx];
      out[i] = f === 0 ? 1 : f;
    } else if (idx > 0) out[i] = out[i - 1];
    else out[i] = 1;
  }
  return out;
}

/**
 * Forecast of the next bucket sum when y[0..n) is cut into buckets of `level` periods, dropping
 * the incomplete bucket at the start; SES with golden-section alpha on [0.1, 0.3].
 */
export function chunkForecast(y: Float64Array, n: number, level: number): number {
  const lost = n % level;
  const nChunks = (n - lost) / level;
  if (nChunks < 1) return y[n - 1];
  const sums = scratchBuffer(2, nChunks);
  for (let i = 0, base = lost; i < nChunks; i++) {
    let s = 0;
    for (let j = 0; j < level; j++) s += y[base++];
    sums[i] = s;
  }
  if (nChunks === 1) return sums[0];
  return sesForecast(sums, goldenSectionSes(sums, 0.1, 0.3, 0, nChunks), 0, nChunks);
}

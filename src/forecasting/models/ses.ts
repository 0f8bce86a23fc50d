import type { FitResult, Model, ModelName, SeriesInput } from '../types';
import { constant, lazyFitted } from './util';

/**
 * One-step SES forecast of x[from..to) with smoothing alpha, statsforecast's recursion:
 * the level starts at x[from] and is then updated once per observation (including the first),
 * except that a single observation forecasts itself.
 */
export function sesForecast(x: Float64Array, alpha: number, from = 0, to = x.length): number {
  const m = to - from;
  if (m === 1) return x[from];
  const c = 1 - alpha;
  let f = x[from];
  for (let i = from; i < to; i++) f = alpha * x[i] + c * f;
  return f;
}

/** In-sample one-step fitted values of SES (NaN at t = 0). */
export function sesFitted(x: Float64Array, alpha: number): Float64Array {
  const out = new Float64Array(x.length);
  if (x.length === 0) return out;
  const c = 1 - alpha;
  out[0] = x[0];
  for (let i = 1; i < x.length; i++) out[i] = alpha * x[i - 1] + c * out[i - 1];
  out[0] = NaN;
  return out;
}

/** Sum of squared one-step errors, the objective of the golden-section search. */
export function sesSse(x: Float64Array, alpha: number, from = 0, to = x.length): number {
  if (to - from < 2) return 0;
  const c = 1 - alpha;
  let f = x[from];
  let sse = 0;
  for (let i = from + 1; i < to; i++) {
    f = alpha * x[i - 1] + c * f;
    const e = x[i] - f;
    sse += e * e;
  }
  return sse;
}

const GOLDEN = (Math.sqrt(5) + 1) / 2;

/**
 * Alpha minimising the in-sample SSE on [lower, upper] by golden-section search, with
 * statsforecast's defaults (0.1, 0.3), its |b - a| >= 1e-12 stop and its stop on an exact tie
 * (so a series of fewer than two points returns the midpoint).
 */
export function goldenSectionSes(x: Float64Array, lower = 0.1, upper = 0.3, from = 0, to = x.length): number {
  let a = lower;
  let b = upper;
  let c = b - (b - a) / GOLDEN;
  let d = a + (b - a) / GOLDEN;
  let fc = sesSse(x, c, from, to);
  let fd = sesSse(x, d, from, to);
  while (Math.abs(b - a) >= 1e-12) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - (b - a) / GOLDEN;
      fc = sesSse(x, c, from, to);
    } else if (fd < fc) {
      a = c;
      c = d;
      fc = fd;
      d = a + (b - a) / GOLDEN;
      fd = sesSse(x, d, from, to);
    } else break;
  }
  return (b + a) / 2;
}

export class SES implements Model {
  readonly name: ModelName = 'SES';
  constructor(readonly alpha = 0.1) {}
  fit({ y }: SeriesInput): FitResult {
    return lazyFitted(constant(sesForecast(y, this.alpha)), () => sesFitted(y, this.alpha));
  }
}

/** SES with alpha chosen on [0.01, 0.99] by in-sample SSE (statsforecast SESOpt). */
export class SESOptimized implements Model {
  readonly name: ModelName = 'SESOptimized';
  fit({ y }: SeriesInput): FitResult {
    const alpha = goldenSectionSes(y, 0.01, 0.99);
    return lazyFitted(constant(sesForecast(y, alpha)), () => sesFitted(y, alpha));
  }
}

import type { FitResult, Model, ModelName, SeriesInput } from '../types';
import { demandInto, expandFittedDemand, expandFittedIntervals, intervalsInto, scratchBuffer } from './intermittent';
import { Naive } from './naive';
import { goldenSectionSes, sesFitted, sesForecast } from './ses';
import { constant, lazyFitted } from './util';

/** Default Croston smoothing (statsforecast fixes 0.1; CROSTON_ALPHA). */
export const CROSTON_ALPHA = 0.1;
/** Syntetos-Boylan bias correction, 1 - alpha/2 at alpha = 0.1. */
export const SBA_FACTOR = 0.95;

/**
 * Croston's forecast in one pass without allocating: SES of the demand sizes over SES of the
 * inter-demand intervals. Returns NaN when there is no demand (callers fall back to Naive).
 */
export function crostonForecast(y: Float64Array, alpha: number): number {
  const c = 1 - alpha;
  let k = 0;
  let dF = 0, dPrev = 0, iF = 0, iPrev = 0;
  let last = -1;
  for (let t = 0; t < y.length; t++) {
    const v = y[t];
    if (v === 0) continue;
    const interval = t - last;
    last = t;
    if (k === 0) {
      dF = v;
      iF = interval;
    } else {
      dF = alpha * dPrev + c * dF;
      iF = alpha * iPrev + c * iF;
    }
    dPrev = v;
    iPrev = interval;
    k++;
  }
  if (k === 0) return NaN;
  const d = k === 1 ? dF : alpha * dPrev + c * dF;
  const p = k === 1 ? iF : alpha * iPrev + c * iF;
  return p !== 0 ? d / p : d;
}

function crostonFitted(y: Float64Array, alpha: number, factor: number): Float64Array {
  const yd = new Float64Array(y.length);
  const yi = new Float64Array(y.length);
  const k = demandInto(y, yd);
  intervalsInto(y, yi);
  const withNext = (x: Float64Array): Float64Array => {
    const f = new Float64Array(k + 1);
    f.set(sesFitted(x.subarray(0, k), alpha));
    f[k] = sesForecast(x, alpha, 0, k);
    return f;
  };
  const d = expandFittedDemand(withNext(yd), y);
  const p = expandFittedIntervals(withNext(yi), y);
  for (let i = 0; i < d.length; i++) d[i] = (d[i] / p[i]) * factor;
  return d;
}

class CrostonBase implements Model {
  constructor(
    readonly name: ModelName,
    readonly alpha: number,
    private readonly factor: number,
  ) {}
  fit(series: SeriesInput): FitResult {
    const { y } = series;
    const mean = crostonForecast(y, this.alpha);
    if (Number.isNaN(mean)) return new Naive().fit(series); // no demand at all
    return lazyFitted(constant(mean * this.factor), () => crostonFitted(y, this.alpha, this.factor));
  }
}

export class CrostonClassic extends CrostonBase {
  constructor(alpha = CROSTON_ALPHA) {
    super('CrostonClassic', alpha, 1);
  }
}

/** Croston with the Syntetos-Boylan 0.95 debiasing factor on forecasts and fitted values. */
export class CrostonSBA extends CrostonBase {
  constructor(alpha = CROSTON_ALPHA) {
    super('CrostonSBA', alpha, SBA_FACTOR);
  }
}

/** One-step forecast of SES with golden-section alpha on [0.1, 0.3] of x[0..k). */
function optimizedSes(x: Float64Array, k: number): number {
  return sesForecast(x, goldenSectionSes(x, 0.1, 0.3, 0, k), 0, k);
}

export function crostonOptimizedForecast(y: Float64Array): number {
  const yd = scratchBuffer(0, y.length);
  const k = demandInto(y, yd);
  if (k === 0) return NaN;
  const yi = scratchBuffer(1, y.length);
  intervalsInto(y, yi);
  const d = optimizedSes(yd, k);
  const p = optimizedSes(yi, k);
  return p !== 0 ? d / p : d;
}

/** Expensive (as in statsforecast): re-optimises alpha on every prefix of demands and intervals. */
function crostonOptimizedFitted(y: Float64Array): Float64Array {
  const yd = new Float64Array(y.length);
  const yi = new Float64Array(y.length);
  const k = demandInto(y, yd);
  intervalsInto(y, yi);
  const ydf = new Float64Array(k + 1);
  const yif = new Float64Array(k + 1);
  ydf[0] = yif[0] = NaN;
  for (let i = 0; i < k; i++) {
    ydf[i + 1] = optimizedSes(yd, i + 1);
    const p = optimizedSes(yi, i + 1);
    yif[i + 1] = p === 0 ? 1 : p;
  }
  const d = expandFittedDemand(ydf, y);
  const p = expandFittedIntervals(yif, y);
  for (let i = 0; i < d.length; i++) d[i] /= p[i];
  return d;
}

/** Croston with each SES alpha chosen on [0.1, 0.3] by in-sample SSE. */
export class CrostonOptimized implements Model {
  readonly name: ModelName = 'CrostonOptimized';
  fit(series: SeriesInput): FitResult {
    const { y } = series;
    const mean = crostonOptimizedForecast(y);
    if (Number.isNaN(mean)) return new Naive().fit(series);
    return lazyFitted(constant(mean), () => crostonOptimizedFitted(y));
  }
}

import type { FitResult, Model, ModelName, SeriesInput } from '../types';
import { allZero, demandInto, expandFittedDemand } from './intermittent';
import { sesFitted, sesForecast } from './ses';
import { constant, lazyFitted } from './util';

export const TSB_ALPHA = 0.1;
export const TSB_BETA = 0.1;

/**
 * Teunter-Syntetos-Babai: SES of the demand probability (every period, alpha_p) times SES of the
 * demand sizes (alpha_d), in one pass without allocating. Assumes some demand.
 */
export function tsbForecast(y: Float64Array, alphaD: number, alphaP: number): number {
  const n = y.length;
  const cp = 1 - alphaP;
  const cd = 1 - alphaD;
  // probability: level starts at the first indicator, then one update per period
  let p = y[0] !== 0 ? 1 : 0;
  if (n > 1) for (let t = 0; t < n; t++) p = alphaP * (y[t] !== 0 ? 1 : 0) + cp * p;
  let k = 0;
  let d = 0, prev = 0;
  for (let t = 0; t < n; t++) {
    const v = y[t];
    if (v > 0) {
      if (k === 0) d = v;
      else d = alphaD * prev + cd * d;
      prev = v;
      k++;
    }
  }
  if (k > 1) d = alphaD * prev + cd * d;
  return p * d;
}

function tsbFitted(y: Float64Array, alphaD: number, alphaP: number): Float64Array {
  const yp = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) yp[i] = y[i] !== 0 ? 1 : 0;
  const yd = new Float64Array(y.length);
  const k = demandInto(y, yd);
  const ydf = new Float64Array(k + 1);
  ydf.set(sesFitted(yd.subarray(0, k), alphaD));
  ydf[k] = sesForecast(yd, alphaD, 0, k);
  const out = expandFittedDemand(ydf, y);
  const pf = sesFitted(yp, alphaP);
  for (let i = 0; i < out.length; i++) out[i] *= pf[i];
  return out;
}

export class TSB implements Model {
  readonly name: ModelName = 'TSB';
  constructor(
    readonly alphaD = TSB_ALPHA,
    readonly alphaP = TSB_BETA,
  ) {}
  fit({ y }: SeriesInput): FitResult {
    if (allZero(y)) return zeroFit(y.length);
    const { alphaD, alphaP } = this;
    return lazyFitted(constant(tsbForecast(y, alphaD, alphaP)), () => tsbFitted(y, alphaD, alphaP));
  }
}

/** statsforecast's all-zero answer for TSB, ADIDA and IMAPA: zeros, fitted zeros with NaN first. */
export function zeroFit(n: number): FitResult {
  const fitted = new Float64Array(n);
  fitted[0] = NaN;
  return { forecast: (h) => new Float64Array(h), fitted };
}

/**
 * Prophet 1.x (linear growth, additive seasonality, MAP fit) reimplemented in TypeScript.
 *
 * Follows Prophet's preprocessing: absmax y scaling (floor 0, scale 1 for an all-zero series),
 * t scaled to [0, 1] over the non-missing history, 25 changepoints placed by row index over the
 * first 80% of it, Fourier features on days since 1970-01-01 (not standardised), the 'auto'
 * seasonality rules, and its Stan model's priors. The MAP is solved exactly (see prophet/map.ts)
 * instead of by L-BFGS, which Stan's optimizer only approximates; point forecasts are yhat.
 */
import { isoToDay, isValidIsoDate } from '../dates';
import { ForecastInputError, type FitResult, type Model, type SeriesInput } from '../types';
import { prophetGram } from './prophet/design';
import { solveMap, type MapProblem } from './prophet/map';

/** The fitted state, exposed for parity diagnostics. */
export interface ProphetState {
  theta: Float64Array;
  sigma: number;
  problem?: MapProblem;
  changepoints: Float64Array;
  yScale: number;
}

export interface ProphetOptions {
  /** Accepted for the registry's uniform options; Prophet picks its seasonalities itself. */
  seasonLength?: number;
  changepointPriorScale?: number;
  seasonalityPriorScale?: number;
  nChangepoints?: number;
  changepointRange?: number;
  yearlySeasonality?: boolean | 'auto';
  weeklySeasonality?: boolean | 'auto';
}

interface Seasonality {
  period: number;
  order: number;
}


function parseDay(sku: string, iso: string): number {
  if (!isValidIsoDate(iso)) throw new ForecastInputError(sku, `start must be an ISO date YYYY-MM-DD, got "${iso}"`);
  return isoToDay(iso);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Writes the Fourier features of one day (sin, cos per order, per seasonality) at out[off..].
 * Harmonics come from the first by angle addition: far fewer sin/cos calls on large arguments,
 * and within 1e-12 of computing each one directly.
 */
function fourier(day: number, seas: readonly Seasonality[], out: Float64Array, off: number): void {
  const x = Math.PI * 2 * day;
  for (const s of seas) {
    const c1 = x / s.period;
    const s1 = Math.sin(c1);
    const k1 = Math.cos(c1);
    let sn = s1;
    let cn = k1;
    for (let i = 0; i < s.order; i++) {
      out[off++] = sn;
      out[off++] = cn;
      const next = sn * k1 + cn * s1;
      cn = cn * k1 - sn * s1;
      sn = next;
    }
  }
}

function orderOf(arg: boolean | 'auto', autoDisable: boolean, defaultOrder: number): number {
  if (arg === 'auto') return autoDisable ? 0 : defaultOrder;
  return arg ? defaultOrder : 0;
}

export class Prophet implements Model {
  readonly name = 'Prophet';
  private readonly cpScale: number;
  private readonly seasScale: number;
  private readonly nCp: number;
  private readonly cpRange: number;
  private readonly yearly: boolean | 'auto';
  private readonly weekly: boolean | 'auto';

  constructor(opts: ProphetOptions = {}) {
    this.cpScale = opts.changepointPriorScale ?? 0.05;
    this.seasScale = opts.seasonalityPriorScale ?? 10;
    this.nCp = opts.nChangepoints ?? 25;
    this.cpRange = opts.changepointRange ?? 0.8;
    this.yearly = opts.yearlySeasonality ?? 'auto';
    this.weekly = opts.weeklySeasonality ?? 'auto';
    const bad = (what: string, v: number): never => {
      throw new ForecastInputError('-', `Prophet ${what} is invalid: ${v}`);
    };
    if (!(this.cpScale > 0 && Number.isFinite(this.cpScale))) bad('changepointPriorScale', this.cpScale);
    if (!(this.seasScale > 0 && Number.isFinite(this.seasScale))) bad('seasonalityPriorScale', this.seasScale);
    if (!(Number.isInteger(this.nCp) && this.nCp >= 0)) bad('nChangepoints', this.nCp);
    if (!(this.cpRange >= 0 && this.cpRange <= 1)) bad('changepointRange', this.cpRange);
  }

  fit(series: SeriesInput): FitResult {
    return this.fitState(series).result;
  }

  fitState(series: SeriesInput): { result: FitResult; state: ProphetState } {
    const { id, freqDays, y } = series;
    if (!(Number.isInteger(freqDays) && freqDays >= 1)) {
      throw new ForecastInputError(id, `freqDays must be a positive integer, got ${freqDays}`);
    }
    const day0 = parseDay(id, series.start);
    // History: the non-missing rows, as Prophet drops NaN y before fitting.
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) {
      const v = y[i];
      if (v === Infinity || v === -Infinity) throw new ForecastInputError(id, `y[${i}] is infinite`);
      if (!Number.isNaN(v)) rows.push(i);
    }
    const n = rows.length;
    if (n < 2) throw new ForecastInputError(id, `Prophet needs at least 2 non-missing values, got ${n}`);

    const days = new Float64Array(n);
    const ys = new Float64Array(n);
    let yScale = 0;
    let yMin = Infinity;
    let yMax = -Infinity;
    let minDt = Infinity;
    for (let r = 0; r < n; r++) {
      days[r] = day0 + rows[r] * freqDays;
      const v = y[rows[r]];
      yScale = Math.max(yScale, Math.abs(v));
      yMin = Math.min(yMin, v);
      yMax = Math.max(yMax, v);
      if (r > 0) minDt = Math.min(minDt, days[r] - days[r - 1]);
    }
    if (yScale === 0) yScale = 1;
    for (let r = 0; r < n; r++) ys[r] = y[rows[r]] / yScale;
    const first = days[0];
    const tScale = days[n - 1] - first;
    const tOf = (day: number): number => (day - first) / tScale;

    // Seasonalities by Prophet's auto rules (yearly: >= 730 days; weekly: >= 14 days, spacing < 7).
    const seas: Seasonality[] = [];
    const yo = orderOf(this.yearly, tScale < 730, 10);
    if (yo > 0) seas.push({ period: 365.25, order: yo });
    const wo = orderOf(this.weekly, tScale < 14 || minDt >= 7, 3);
    if (wo > 0) seas.push({ period: 7, order: wo });
    let kSeas = 0;
    for (const s of seas) kSeas += 2 * s.order;
    const kCols = Math.max(kSeas, 1); // Prophet's all-zero dummy column when there is none

    // Changepoints: rows round(linspace(0, histSize - 1, nCp + 1))[1:], or a dummy at t = 0.
    const histSize = Math.floor(n * this.cpRange);
    let nCp = this.nCp;
    if (nCp + 1 > histSize) nCp = histSize - 1;
    let cps: Float64Array;
    if (nCp > 0) {
      cps = new Float64Array(nCp);
      const step = (histSize - 1) / nCp;
      for (let j = 1; j <= nCp; j++) cps[j - 1] = tOf(days[j === nCp ? histSize - 1 : roundHalfEven(j * step)]);
    } else {
      cps = new Float64Array([0]);
    }
    const S = cps.length;

    // Parameters: [k, m, delta(S), beta(K)]; design row = [t, 1, (t - c_j)+, fourier].
    const p = 2 + S + kCols;
    const l2 = new Float64Array(p);
    const l1 = new Float64Array(p);
    l2[0] = 1 / 25;
    l2[1] = 1 / 25;
    for (let j = 0; j < S; j++) l1[2 + j] = 1 / this.cpScale;
    const betaPrec = kSeas > 0 ? 1 / (this.seasScale * this.seasScale) : 1;
    for (let j = 0; j < kCols; j++) l2[2 + S + j] = betaPrec;

    const theta = new Float64Array(p);
    // Prophet's init: the line through the first and last points.
    theta[0] = ys[n - 1] - ys[0];
    theta[1] = ys[0];
    let sigma = 1e-9;
    let problem: MapProblem | undefined;
    if (yMin !== yMax) {
      const ts = new Float64Array(n);
      for (let r = 0; r < n; r++) ts[r] = tOf(days[r]);
      // Fourier features column-major; Prophet's dummy column is all zeros
      const f = new Float64Array(kCols * n);
      if (kSeas > 0) {
        const row = new Float64Array(kSeas);
        for (let r = 0; r < n; r++) {
          fourier(days[r], seas, row, 0);
          for (let q = 0; q < kSeas; q++) f[q * n + r] = row[q];
        }
      }
      const { g, b, yy } = prophetGram(ts, ys, cps, f, kCols);
      const pr: MapProblem = { n, p, g, b, yy, l2, l1, sigmaPrior: 0.5 };
      const res = solveMap(pr, theta, 1);
      theta.set(res.theta);
      sigma = res.sigma;
      problem = pr;
    }
    if (nCp <= 0) {
      // no real changepoints: Prophet folds the dummy's delta into k
      theta[0] += theta[2];
      theta[2] = 0;
    }

    const beta = theta.subarray(2 + S);
    const feat = new Float64Array(kCols);
    const yhatAt = (day: number): number => {
      const t = tOf(day);
      let v = theta[0] * t + theta[1];
      for (let j = 0; j < S && cps[j] <= t; j++) v += theta[2 + j] * (t - cps[j]);
      if (kSeas > 0) {
        fourier(day, seas, feat, 0);
        for (let j = 0; j < kSeas; j++) v += beta[j] * feat[j];
      }
      return v * yScale;
    };
    const lastDay = day0 + (y.length - 1) * freqDays;
    const state: ProphetState = { theta, sigma, problem, changepoints: cps, yScale };
    let fitted: Float64Array | undefined;
    const result: FitResult = {
      // in-sample yhat on every input date, computed on first read (Prophet's fit doesn't either)
      get fitted(): Float64Array {
        if (!fitted) {
          fitted = new Float64Array(y.length);
          for (let i = 0; i < y.length; i++) fitted[i] = yhatAt(day0 + i * freqDays);
        }
        return fitted;
      },
      forecast: (h: number): Float64Array => {
        if (!(Number.isInteger(h) && h >= 0)) throw new ForecastInputError(id, `horizon must be a non-negative integer, got ${h}`);
        const out = new Float64Array(h);
        for (let i = 0; i < h; i++) out[i] = yhatAt(lastDay + (i + 1) * freqDays);
        return out;
      },
    };
    return { result, state };
  }
}

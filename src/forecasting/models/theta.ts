import type { FitResult, Model, ModelName, SeriesInput } from '../types';
import { checkSeasonLength } from './util';

/**
 * The standard theta method (Assimakopoulos & Nikolopoulos 2000) as statsforecast 2.1.x `Theta`
 * fits it: the state-space form of Fiorucci et al. (2016) with theta = 2, i.e. SES on the
 * (deseasonalised) series plus half the slope of its linear regression on time, the SES initial
 * level and alpha chosen by statsforecast's bounded Nelder-Mead on the in-sample one-step squared
 * errors; seasonal series (a 90% autocorrelation test at lag m) are deseasonalised first by
 * classical multiplicative decomposition (additive when the data has zeros or a seasonal index
 * below 0.01) and the last season's indices are put back on the forecast.
 */

const THETA = 2;
/** norm.ppf(0.95): the one-sided 90% test statsforecast applies to the lag-m autocorrelation. */
const Z95 = 1.6448536269514722;

/** statsforecast needs more points than its 3 parameters. */
export const THETA_MIN_HISTORY = 4;

/** Regression of y on t = 1..n: intercept An and slope Bn (the drift the theta line halves). */
function regression(y: Float64Array): { an: number; bn: number } {
  const n = y.length;
  let sum = 0, weighted = 0;
  for (let i = 0; i < n; i++) {
    sum += y[i];
    weighted += y[i] * (i + 1);
  }
  const mean = sum / n;
  const bn = (6 * (2 * (weighted / n) - (n + 1) * mean)) / (n * n - 1);
  return { an: mean - ((n + 1) * bn) / 2, bn };
}

/**
 * The one-step forecast made at step i from the SES level before it (the theta line's state), with
 * q = (1 - alpha)^i passed in: the reference raises 1 - alpha to the power i at every step, a
 * running product is the same to about 1e-13 and several times faster.
 */
const stepForecast = (level: number, q: number, alpha: number, an: number, bn: number): number =>
  level + (1 - 1 / THETA) * (an * q + (bn * (1 - q * (1 - alpha))) / alpha);

/**
 * Runs the model over y: the objective (sum of squared one-step errors from the 4th on, over the
 * mean absolute value meanAbs) and the SES level and (1 - alpha)^n after the last observation.
 */
function thetaPass(y: Float64Array, l0: number, alpha: number, an: number, bn: number, meanAbs: number): { sse: number; level: number; q: number } {
  const n = y.length;
  const c = 1 - alpha;
  let level = alpha * y[0] + c * l0;
  let sse = 0, q = 1;
  for (let i = 1; i < n; i++) {
    q *= c;
    const e = y[i] - stepForecast(level, q, alpha, an, bn);
    if (i >= 3) sse += e * e;
    level = alpha * y[i] + c * level;
  }
  return { sse: sse / Math.max(meanAbs, 1e-10), level, q };
}

/**
 * statsforecast's Nelder-Mead: parameters clamped to [lower, upper] after every move, the adaptive
 * coefficients of Gao & Han (2012), a first simplex stretching each coordinate by 5% (1e-4 from
 * zero), stopping when the population standard deviation of the simplex values is below 1e-4 or
 * after 1000 iterations; the vertex with the lowest value (the first on a tie) is the answer.
 * Its quirk is kept for parity: a shrink moves every vertex but the first towards the best.
 */
export function nelderMead(f: (x: Float64Array) => number, x0: Float64Array, lower: Float64Array, upper: Float64Array): Float64Array {
  const n = x0.length;
  const clamp = (x: Float64Array): Float64Array => x.map((v, i) => Math.min(Math.max(v, lower[i]), upper[i]));
  const gamma = 1 + 2 / n, rho = 0.75 - 1 / (2 * n), sigma = 1 - 1 / n;
  const start = clamp(x0);
  const simplex: Float64Array[] = Array.from({ length: n + 1 }, () => Float64Array.from(start));
  for (let i = 0; i < n; i++) {
    const v = simplex[i][i];
    simplex[i][i] = Math.min(Math.max(v === 0 ? 1e-4 : v * (1 + 0.05), lower[i]), upper[i]);
  }
  const fs = simplex.map(f);
  const order = Array.from({ length: n + 1 }, (_, i) => i);
  const towards = (from: Float64Array, to: Float64Array, t: number): Float64Array => clamp(from.map((v, i) => v + t * (to[i] - v)));
  for (let iter = 0; iter < 1000; iter++) {
    const mean = fs.reduce((a, b) => a + b, 0) / fs.length;
    if (Math.sqrt(fs.reduce((a, v) => a + (v - mean) * (v - mean), 0) / fs.length) < 1e-4) break;
    order.sort((a, b) => fs[a] - fs[b] || a - b);
    const best = order[0], worst = order[n], second = order[n - 1];
    // all vertices summed, then the worst taken off (the reference's rounding)
    const centroid = new Float64Array(n);
    for (let j = 0; j <= n; j++) for (let i = 0; i < n; i++) centroid[i] += simplex[j][i];
    for (let i = 0; i < n; i++) centroid[i] = (centroid[i] - simplex[worst][i]) / n;
    const xr = towards(centroid, simplex[worst], -1);
    const fr = f(xr);
    const replace = (x: Float64Array, fx: number): void => {
      simplex[worst] = x;
      fs[worst] = fx;
    };
    if (fs[best] <= fr && fr < fs[second]) {
      replace(xr, fr);
      continue;
    }
    if (fr < fs[best]) {
      const xe = towards(centroid, xr, gamma);
      const fe = f(xe);
      if (fe < fr) replace(xe, fe);
      else replace(xr, fr);
      continue;
    }
    if (fs[second] <= fr && fr < fs[worst]) {
      const xc = towards(centroid, xr, rho); // outside contraction
      const fc = f(xc);
      if (fc <= fr) {
        replace(xc, fc);
        continue;
      }
    } else {
      const xc = towards(centroid, xr, -rho); // inside contraction
      const fc = f(xc);
      if (fc < fs[worst]) {
        replace(xc, fc);
        continue;
      }
    }
    for (let j = 1; j <= n; j++) {
      simplex[j] = towards(simplex[best], simplex[j], sigma);
      fs[j] = f(simplex[j]);
    }
  }
  let argmin = 0;
  for (let j = 1; j <= n; j++) if (fs[j] < fs[argmin]) argmin = j;
  return simplex[argmin];
}

/** Does the lag-m autocorrelation pass statsforecast's 90% seasonality test? */
export function isSeasonal(y: Float64Array, m: number): boolean {
  const n = y.length;
  if (m < 4 || n < 2 * m) return false;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean /= n;
  const acov = (k: number): number => {
    let s = 0;
    for (let t = 0; t + k < n; t++) s += (y[t] - mean) * (y[t + k] - mean);
    return s;
  };
  const c0 = acov(0);
  let sumSq = 0;
  for (let k = 1; k < m; k++) sumSq += (acov(k) / c0) ** 2;
  const stat = Math.sqrt((1 + 2 * sumSq) / n);
  return Math.abs(acov(m) / c0) / stat > Z95; // a constant series gives NaN: not seasonal
}

/**
 * Classical decomposition's seasonal indices (statsmodels seasonal_decompose): a centred moving
 * average of m points (2 x m for even m) as trend, the mean detrended value per season position,
 * normalised to mean 1 (multiplicative) or 0 (additive).
 */
export function seasonalIndices(y: Float64Array, m: number, multiplicative: boolean): Float64Array {
  const n = y.length;
  const half = Math.floor(m / 2);
  const sums = new Float64Array(m), counts = new Float64Array(m);
  for (let t = half; t < n - half; t++) {
    let trend = 0;
    if (m % 2 === 0) {
      trend = (0.5 / m) * y[t - half];
      for (let k = -half + 1; k < half; k++) trend += (1 / m) * y[t + k];
      trend += (0.5 / m) * y[t + half];
    } else {
      for (let k = -half; k <= half; k++) trend += (1 / m) * y[t + k];
    }
    sums[t % m] += multiplicative ? y[t] / trend : y[t] - trend;
    counts[t % m]++;
  }
  const idx = sums.map((s, i) => s / counts[i]);
  const avg = idx.reduce((a, b) => a + b, 0) / m;
  return idx.map((v) => (multiplicative ? v / avg : v - avg));
}

/** The theta forecast of y for h periods (seasonLength m; m < 4 never deseasonalises). */
export function thetaForecast(y: Float64Array, m: number, h: number): Float64Array {
  const n = y.length;
  // too short for its parameters: NaN, as SeasonalNaive's missing season (a combination leaves it out)
  if (n < THETA_MIN_HISTORY) return new Float64Array(h).fill(NaN);
  let season: Float64Array | undefined;
  let multiplicative = true;
  let x = y;
  if (isSeasonal(y, m)) {
    multiplicative = y.every((v) => v > 0);
    season = seasonalIndices(y, m, multiplicative);
    if (multiplicative && season.some((v) => v < 0.01)) {
      multiplicative = false;
      season = seasonalIndices(y, m, false);
    }
    const s = season;
    x = y.map((v, t) => (multiplicative ? v / s[t % m] : v - s[t % m]));
  }
  const { an, bn } = regression(x);
  let absSum = 0;
  for (let i = 0; i < n; i++) absSum += Math.abs(x[i]);
  const meanAbs = absSum / n;
  const par = nelderMead(
    (p) => thetaPass(x, p[0], p[1], an, bn, meanAbs).sse,
    Float64Array.of(x[0] / 2, 0.5),
    Float64Array.of(-1e10, 0.1),
    Float64Array.of(1e10, 0.99),
  );
  const alpha = par[1];
  let { level, q } = thetaPass(x, par[0], alpha, an, bn, meanAbs);
  const out = new Float64Array(h);
  for (let j = 0; j < h; j++) {
    q *= 1 - alpha;
    const f = stepForecast(level, q, alpha, an, bn);
    level = alpha * f + (1 - alpha) * level;
    out[j] = season ? (multiplicative ? f * season[(n + j) % m] : f + season[(n + j) % m]) : f;
  }
  return out;
}

export class Theta implements Model {
  readonly name: ModelName = 'Theta';
  constructor(readonly seasonLength = 7) {
    checkSeasonLength(seasonLength);
  }
  fit({ y }: SeriesInput): FitResult {
    return { forecast: (h) => thetaForecast(y, this.seasonLength, h) };
  }
}

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

/**
 * SSE at three alphas in one pass over x[from..from+m): every chain does exactly sesSse's
 * operations in the same order (bit-identical results), but the three independent recurrences
 * overlap in the CPU instead of each waiting on its own multiply-add latency. (More chains
 * measured slower: they run out of registers.)
 */
function sesSse3(x: Float64Array, from: number, m: number, alphas: Float64Array, out: Float64Array): void {
  if (m < 2) {
    out[0] = out[1] = out[2] = 0;
    return;
  }
  const a1 = alphas[0], a2 = alphas[1], a3 = alphas[2];
  const c1 = 1 - a1, c2 = 1 - a2, c3 = 1 - a3;
  let f1 = x[from], f2 = f1, f3 = f1;
  let s1 = 0, s2 = 0, s3 = 0;
  for (let i = from + 1; i < from + m; i++) {
    const xp = x[i - 1], xi = x[i];
    f1 = a1 * xp + c1 * f1;
    f2 = a2 * xp + c2 * f2;
    f3 = a3 * xp + c3 * f3;
    const e1 = xi - f1, e2 = xi - f2, e3 = xi - f3;
    s1 += e1 * e1;
    s2 += e2 * e2;
    s3 += e3 * e3;
  }
  out[0] = s1;
  out[1] = s2;
  out[2] = s3;
}

const GOLDEN = (Math.sqrt(5) + 1) / 2;

/**
 * statsforecast's golden-section search for the SES alpha minimising the in-sample SSE: stops when
 * |b - a| < 1e-12 or on an exact tie of the two interior values. Run as a state machine taking two
 * of its steps per pass: plan() names the point the next step evaluates and both points the step
 * after might evaluate, the caller computes their SSEs together, apply() takes the steps. The
 * iterates are exactly those of the one-step-at-a-time loop.
 */
class Golden {
  a = 0; b = 0; c = 0; d = 0; fc = 0; fd = 0;
  left = false;
  /** [step-1 point, step-2 point if moving left, step-2 point if moving right] */
  readonly pts = new Float64Array(3);

  start(x: Float64Array, lower: number, upper: number, from: number, to: number): void {
    this.a = lower;
    this.b = upper;
    this.c = upper - (upper - lower) / GOLDEN;
    this.d = lower + (upper - lower) / GOLDEN;
    this.fc = sesSse(x, this.c, from, to);
    this.fd = sesSse(x, this.d, from, to);
  }

  /** False when the search has stopped. */
  plan(): boolean {
    const { a, b, c, d, fc, fd } = this;
    if (!(Math.abs(b - a) >= 1e-12) || !(fc < fd || fd < fc)) return false;
    const left = (this.left = fc < fd); // left: b = d, d = c, new c; right: a = c, c = d, new d
    const a1 = left ? a : c;
    const b1 = left ? d : b;
    const p = left ? b1 - (b1 - a1) / GOLDEN : a1 + (b1 - a1) / GOLDEN;
    const c1 = left ? p : d;
    const d1 = left ? c : p;
    this.pts[0] = p;
    this.pts[1] = d1 - (d1 - a1) / GOLDEN;
    this.pts[2] = c1 + (b1 - c1) / GOLDEN;
    return true;
  }

  apply(sse: Float64Array): void {
    const fp = sse[0];
    if (this.left) {
      this.b = this.d; this.d = this.c; this.fd = this.fc; this.c = this.pts[0]; this.fc = fp;
    } else {
      this.a = this.c; this.c = this.d; this.fc = this.fd; this.d = this.pts[0]; this.fd = fp;
    }
    if (!(Math.abs(this.b - this.a) >= 1e-12)) return;
    if (this.fc < this.fd) {
      this.b = this.d; this.d = this.c; this.fd = this.fc; this.c = this.pts[1]; this.fc = sse[1];
    } else if (this.fd < this.fc) {
      this.a = this.c; this.c = this.d; this.fc = this.fd; this.d = this.pts[2]; this.fd = sse[2];
    }
    // on a tie the next plan() stops
  }

  get alpha(): number {
    return (this.b + this.a) / 2;
  }
}

const golden = new Golden();
const sse3 = new Float64Array(3);

/**
 * Alpha minimising the in-sample SSE of x[from..to) on [lower, upper] (statsforecast's defaults
 * 0.1, 0.3); a series of fewer than two points returns the midpoint.
 */
export function goldenSectionSes(x: Float64Array, lower = 0.1, upper = 0.3, from = 0, to = x.length): number {
  golden.start(x, lower, upper, from, to);
  while (golden.plan()) {
    sesSse3(x, from, to - from, golden.pts, sse3);
    golden.apply(sse3);
  }
  return golden.alpha;
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

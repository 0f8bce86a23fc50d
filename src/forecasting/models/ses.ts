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
 * SSE at three alphas of each of two series of the same length, in one pass: every chain does
 * exactly sesSse's operations in the same order (bit-identical results), but the independent
 * recurrences overlap in the CPU instead of waiting on one another. With y = undefined only x is
 * evaluated.
 */
function sesSse3x2(
  x: Float64Array, xFrom: number, ax: Float64Array,
  y: Float64Array | undefined, yFrom: number, ay: Float64Array,
  m: number, out: Float64Array,
): void {
  out.fill(0);
  if (m < 2) return;
  const a1 = ax[0], a2 = ax[1], a3 = ax[2];
  const c1 = 1 - a1, c2 = 1 - a2, c3 = 1 - a3;
  let f1 = x[xFrom], f2 = f1, f3 = f1;
  let s1 = 0, s2 = 0, s3 = 0;
  if (y === undefined) {
    for (let i = 1; i < m; i++) {
      const xp = x[xFrom + i - 1], xi = x[xFrom + i];
      f1 = a1 * xp + c1 * f1;
      f2 = a2 * xp + c2 * f2;
      f3 = a3 * xp + c3 * f3;
      const e1 = xi - f1, e2 = xi - f2, e3 = xi - f3;
      s1 += e1 * e1;
      s2 += e2 * e2;
      s3 += e3 * e3;
    }
  } else {
    const b1 = ay[0], b2 = ay[1], b3 = ay[2];
    const d1 = 1 - b1, d2 = 1 - b2, d3 = 1 - b3;
    let g1 = y[yFrom], g2 = g1, g3 = g1;
    let t1 = 0, t2 = 0, t3 = 0;
    for (let i = 1; i < m; i++) {
      const xp = x[xFrom + i - 1], xi = x[xFrom + i];
      const yp = y[yFrom + i - 1], yi = y[yFrom + i];
      f1 = a1 * xp + c1 * f1;
      f2 = a2 * xp + c2 * f2;
      f3 = a3 * xp + c3 * f3;
      g1 = b1 * yp + d1 * g1;
      g2 = b2 * yp + d2 * g2;
      g3 = b3 * yp + d3 * g3;
      const e1 = xi - f1, e2 = xi - f2, e3 = xi - f3;
      const h1 = yi - g1, h2 = yi - g2, h3 = yi - g3;
      s1 += e1 * e1;
      s2 += e2 * e2;
      s3 += e3 * e3;
      t1 += h1 * h1;
      t2 += h2 * h2;
      t3 += h3 * h3;
    }
    out[3] = t1;
    out[4] = t2;
    out[5] = t3;
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

  apply(sse: Float64Array, off: number): void {
    const fp = sse[off];
    if (this.left) {
      this.b = this.d; this.d = this.c; this.fd = this.fc; this.c = this.pts[0]; this.fc = fp;
    } else {
      this.a = this.c; this.c = this.d; this.fc = this.fd; this.d = this.pts[0]; this.fd = fp;
    }
    if (!(Math.abs(this.b - this.a) >= 1e-12)) return;
    if (this.fc < this.fd) {
      this.b = this.d; this.d = this.c; this.fd = this.fc; this.c = this.pts[1]; this.fc = sse[off + 1];
    } else if (this.fd < this.fc) {
      this.a = this.c; this.c = this.d; this.fc = this.fd; this.d = this.pts[2]; this.fd = sse[off + 2];
    }
    // on a tie the next plan() stops
  }

  get alpha(): number {
    return (this.b + this.a) / 2;
  }
}

const g1 = new Golden();
const g2 = new Golden();
const sse6 = new Float64Array(6);

/**
 * Alpha minimising the in-sample SSE of x[from..to) on [lower, upper] (statsforecast's defaults
 * 0.1, 0.3); a series of fewer than two points returns the midpoint.
 */
export function goldenSectionSes(x: Float64Array, lower = 0.1, upper = 0.3, from = 0, to = x.length): number {
  g1.start(x, lower, upper, from, to);
  while (g1.plan()) {
    sesSse3x2(x, from, g1.pts, undefined, 0, g1.pts, to - from, sse6);
    g1.apply(sse6, 0);
  }
  return g1.alpha;
}

/**
 * Two independent searches over x[0..m) and y[0..m) run in lock-step (Croston's demand sizes and
 * intervals have the same count), so their SSE passes share one loop. Results equal two calls of
 * goldenSectionSes.
 */
export function goldenSectionSes2(x: Float64Array, y: Float64Array, m: number, lower: number, upper: number, out: Float64Array): void {
  g1.start(x, lower, upper, 0, m);
  g2.start(y, lower, upper, 0, m);
  for (;;) {
    const p1 = g1.plan();
    const p2 = g2.plan();
    if (p1 && p2) {
      sesSse3x2(x, 0, g1.pts, y, 0, g2.pts, m, sse6);
      g1.apply(sse6, 0);
      g2.apply(sse6, 3);
    } else if (p1) {
      sesSse3x2(x, 0, g1.pts, undefined, 0, g1.pts, m, sse6);
      g1.apply(sse6, 0);
    } else if (p2) {
      sesSse3x2(y, 0, g2.pts, undefined, 0, g2.pts, m, sse6);
      g2.apply(sse6, 0);
    } else break;
  }
  out[0] = g1.alpha;
  out[1] = g2.alpha;
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

/**
 * Forecast accuracy. MAPE and WAPE are in percent. MAPE skips periods whose actual is zero (as the
 * kickoff plan reports it), so it is undefined (NaN) for a window of zeros; WAPE = sum|e| / sum|y|.
 * MASE scales by the in-sample seasonal-naive MAE of the training data. RMSSE and the scaled
 * pinball loss use the M5 competition's scale: the in-sample one-step naive error of the training
 * data from its first non-zero demand on (M5 drops the leading zeros of a product not yet sold), so
 * a zero forecast of an intermittent series is not rewarded the way WAPE and MASE reward it.
 */

/** Running sums of one SKU's (or one catalogue's) forecast errors. */
export class ErrorSums {
  points = 0;
  nonZero = 0;
  sumAbsErr = 0;
  sumAbsActual = 0;
  sumApe = 0;
  sumSqErr = 0;
  sumErr = 0;

  /** Adds forecast[i] against actual[from + i] for i < forecast.length. */
  add(actual: Float64Array, forecast: Float64Array, from = 0): this {
    for (let i = 0; i < forecast.length; i++) {
      const a = actual[from + i];
      const e = forecast[i] - a;
      const ae = Math.abs(e);
      this.points++;
      this.sumAbsErr += ae;
      this.sumAbsActual += Math.abs(a);
      this.sumSqErr += e * e;
      this.sumErr += e;
      if (a !== 0) {
        this.nonZero++;
        this.sumApe += ae / Math.abs(a);
      }
    }
    return this;
  }

  merge(o: ErrorSums): this {
    this.points += o.points;
    this.nonZero += o.nonZero;
    this.sumAbsErr += o.sumAbsErr;
    this.sumAbsActual += o.sumAbsActual;
    this.sumApe += o.sumApe;
    this.sumSqErr += o.sumSqErr;
    this.sumErr += o.sumErr;
    return this;
  }

  get mape(): number {
    return this.nonZero > 0 ? (100 * this.sumApe) / this.nonZero : NaN;
  }
  get wape(): number {
    return this.sumAbsActual > 0 ? (100 * this.sumAbsErr) / this.sumAbsActual : NaN;
  }
  get mae(): number {
    return this.points > 0 ? this.sumAbsErr / this.points : NaN;
  }
  get mse(): number {
    return this.points > 0 ? this.sumSqErr / this.points : NaN;
  }
  /** Mean error, forecast minus actual: positive = over-forecasting. */
  get bias(): number {
    return this.points > 0 ? this.sumErr / this.points : NaN;
  }
}

const sums = (actual: Float64Array, forecast: Float64Array): ErrorSums => new ErrorSums().add(actual, forecast);

export const mape = (actual: Float64Array, forecast: Float64Array): number => sums(actual, forecast).mape;
export const wape = (actual: Float64Array, forecast: Float64Array): number => sums(actual, forecast).wape;
export const mae = (actual: Float64Array, forecast: Float64Array): number => sums(actual, forecast).mae;
export const bias = (actual: Float64Array, forecast: Float64Array): number => sums(actual, forecast).bias;

/**
 * Mean |y[t] - y[t - m]|^power over train[0..n) (power 1 for MASE, 2 for RMSSE). A history of at
 * most one season falls back to lag 1. NaN when undefined (fewer than two points).
 */
export function seasonalNaiveScale(train: Float64Array, seasonLength: number, power: 1 | 2 = 1, n = train.length): number {
  const m = n > seasonLength ? seasonLength : 1;
  if (n <= m) return NaN;
  let s = 0;
  for (let t = m; t < n; t++) {
    const d = Math.abs(train[t] - train[t - m]);
    s += power === 1 ? d : d * d;
  }
  return s / (n - m);
}

/** MASE: MAE over the in-sample seasonal-naive MAE (NaN when that is 0 or undefined). */
export function mase(actual: Float64Array, forecast: Float64Array, train: Float64Array, seasonLength: number): number {
  const scale = seasonalNaiveScale(train, seasonLength, 1);
  return scale > 0 ? mae(actual, forecast) / scale : NaN;
}

/**
 * M5 scale: mean |y[t] - y[t - 1]|^power over train[first..n), `first` the first non-zero demand
 * (power 2 for RMSSE, 1 for the scaled pinball loss). NaN with fewer than two points from there.
 */
export function m5Scale(train: Float64Array, power: 1 | 2 = 2, n = train.length): number {
  let first = 0;
  while (first < n && train[first] === 0) first++;
  if (n - first < 2) return NaN;
  let s = 0;
  for (let t = first + 1; t < n; t++) {
    const d = Math.abs(train[t] - train[t - 1]);
    s += power === 1 ? d : d * d;
  }
  return s / (n - first - 1);
}

/** RMSSE (M5): root of the MSE over m5Scale(train, 2); NaN when that is 0 or undefined. */
export function rmsse(actual: Float64Array, forecast: Float64Array, train: Float64Array): number {
  const scale = m5Scale(train, 2);
  return scale > 0 ? Math.sqrt(sums(actual, forecast).mse / scale) : NaN;
}

/** Pinball (quantile) loss of quantile forecast q at probability tau against actual a. */
export function pinball(a: number, q: number, tau: number): number {
  return a >= q ? tau * (a - q) : (1 - tau) * (q - a);
}

/** The quantile probabilities of a central interval at `level` percent: [lower, upper]. */
export function levelQuantiles(level: number): [number, number] {
  const alpha = 100 - level;
  return [alpha / 200, 1 - alpha / 200];
}

/** Running sums of one interval level: coverage and pinball loss of both bounds. */
export class IntervalSums {
  points = 0;
  inside = 0;
  /** Sum of the two bounds' pinball losses, unscaled. */
  sumPinball = 0;
  constructor(readonly level: number) {}

  /** Adds [lo[i], hi[i]] against actual[from + i]. */
  add(actual: Float64Array, lo: Float64Array, hi: Float64Array, from = 0): this {
    const [tl, th] = levelQuantiles(this.level);
    for (let i = 0; i < lo.length; i++) {
      const a = actual[from + i];
      this.points++;
      if (a >= lo[i] && a <= hi[i]) this.inside++;
      this.sumPinball += pinball(a, lo[i], tl) + pinball(a, hi[i], th);
    }
    return this;
  }

  merge(o: IntervalSums): this {
    this.points += o.points;
    this.inside += o.inside;
    this.sumPinball += o.sumPinball;
    return this;
  }

  /** Share of actuals inside the interval, in percent (the target is `level`). */
  get coverage(): number {
    return this.points > 0 ? (100 * this.inside) / this.points : NaN;
  }
  /** Mean pinball loss per bound. */
  get pinball(): number {
    return this.points > 0 ? this.sumPinball / (2 * this.points) : NaN;
  }
}

/**
 * A realistic forecast-query workload for `neuro traffic` and the cache benchmark: SKU popularity
 * follows a Zipf law, most queries ask for the default horizon, some for other horizons, each day
 * brings a few trending query patterns (popular for two days) and a trickle of never-seen ones,
 * and traffic has the plan's two daily peaks (PEAK_HOUR:30 - PEAK_HOUR+1:30 UTC).
 */

import { rng } from '../forecasting/synthetic';

export interface WorkloadOptions {
  skus: string[];
  seed: number;
  /** Zipf exponent of SKU popularity. */
  zipfS?: number;
  defaultHorizon?: number;
  /** Other horizons asked for, most popular first. */
  altHorizons?: number[];
  /** Share of queries for another horizon than the default. */
  altShare?: number;
  /** Share of queries for one of the trending patterns of today or yesterday. */
  trendingShare?: number;
  /** New trending patterns per day. */
  trendingPerDay?: number;
  /** Share of queries that are one-off patterns (a random SKU and horizon). */
  newShare?: number;
  morningPeakHour?: number;
  afternoonPeakHour?: number;
  /** Request rate in a peak hour relative to the daytime base. */
  peakBoost?: number;
}

export interface Query {
  sku: string;
  horizon: number;
  /** Simulated time of the query. */
  at: Date;
}

// The same seedable PRNG as the synthetic catalogue: the same seed gives the same workload.
export { rng };

/** Inverse-CDF sampler over weights. */
function sampler(weights: number[]): (u: number) => number {
  const cdf: number[] = [];
  let sum = 0;
  for (const w of weights) cdf.push((sum += w));
  return (u) => {
    const x = u * sum;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Relative request rate per minute of the UTC day: quiet nights, a daytime base, two peaks. */
export function minuteProfile(opts: Pick<WorkloadOptions, 'morningPeakHour' | 'afternoonPeakHour' | 'peakBoost'> = {}): number[] {
  const peaks = [opts.morningPeakHour ?? 11, opts.afternoonPeakHour ?? 17].map((h) => h * 60 + 30);
  const boost = opts.peakBoost ?? 4;
  return Array.from({ length: 1440 }, (_, m) => {
    const inPeak = peaks.some((p) => (((m - p) % 1440) + 1440) % 1440 < 60);
    const day = m >= 7 * 60 && m < 21 * 60 ? 1 : 0.2;
    return inPeak ? boost : day;
  });
}

export class Workload {
  private readonly zipf: (u: number) => number;
  private readonly order: string[];
  private readonly alt: (u: number) => number;
  private readonly minute: (u: number) => number;

  constructor(private readonly o: WorkloadOptions) {
    if (!o.skus.length) throw new Error('workload: no SKUs');
    const s = o.zipfS ?? 1.1;
    this.zipf = sampler(o.skus.map((_, r) => 1 / (r + 1) ** s));
    // Popularity rank is not id order: a seeded shuffle.
    const r = rng(o.seed);
    this.order = [...o.skus];
    for (let i = this.order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
    }
    this.alt = sampler((o.altHorizons ?? [14, 28, 3, 1]).map((_, i) => 1 / (i + 1)));
    this.minute = sampler(minuteProfile(o));
  }

  private altHorizons(): number[] {
    return this.o.altHorizons ?? [14, 28, 3, 1];
  }

  /** The trending patterns that start on a given day (popular that day and the next). */
  trending(day: number): { sku: string; horizon: number }[] {
    const r = rng(this.o.seed * 7919 + day);
    return Array.from({ length: this.o.trendingPerDay ?? 5 }, () => ({
      sku: this.o.skus[Math.floor(r() * this.o.skus.length)],
      horizon: this.altHorizons()[Math.floor(r() * this.altHorizons().length)],
    }));
  }

  /** `count` queries of simulated day `day` (0-based from `epoch`), in time order. */
  day(day: number, count: number, epoch: Date): Query[] {
    const r = rng(this.o.seed * 104_729 + day);
    const start = epoch.getTime() + day * 86_400_000;
    const trending = [...this.trending(day), ...(day > 0 ? this.trending(day - 1) : [])];
    const altShare = this.o.altShare ?? 0.01;
    const trendShare = this.o.trendingShare ?? 0.004;
    const newShare = this.o.newShare ?? 0.0005;
    const out: Query[] = [];
    for (let i = 0; i < count; i++) {
      const at = new Date(start + this.minute(r()) * 60_000 + Math.floor(r() * 60_000));
      const u = r();
      let sku = this.order[this.zipf(r())];
      let horizon = this.o.defaultHorizon ?? 7;
      if (u < newShare) {
        sku = this.o.skus[Math.floor(r() * this.o.skus.length)];
        horizon = 1 + Math.floor(r() * 28);
      } else if (u < newShare + trendShare) {
        ({ sku, horizon } = trending[Math.floor(r() * trending.length)]);
      } else if (u < newShare + trendShare + altShare) {
        horizon = this.altHorizons()[this.alt(r())];
      }
      out.push({ sku, horizon, at });
    }
    return out.sort((a, b) => a.at.getTime() - b.at.getTime());
  }
}

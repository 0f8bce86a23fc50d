/**
 * Deterministic synthetic demand catalogue for demos, tests and benchmarks: daily series of four
 * kinds (the Syntetos-Boylan classes) with weekly and yearly seasonality, trend and promotions.
 * Each SKU's series depends only on (seed, SKU number), so a catalogue's first SKUs are the same
 * whatever its size.
 *
 * The default mix resembles the business the kickoff plan describes: nearly every SKU a regular
 * seller (tens to hundreds a day, moderate noise; Prophet backtests at roughly 15% MAPE), a few
 * erratic and lumpy ones, and a handful of intermittent slow movers including the plan's four
 * outlier SKUs. Every kind of share >= 0.002 appears in any run of 700 consecutive SKU numbers.
 */
import type { DemandClass } from './classify';
import type { SeriesInput } from './types';

export interface SyntheticSeries extends SeriesInput {
  kind: DemandClass;
}

export interface CatalogueSpec {
  skus: number;
  /** Days per SKU, or [min, max] drawn per SKU (default [365, 730]). */
  days?: number | [number, number];
  seed?: number;
  /** ISO date of the LAST day of every series (default 2024-12-31), so SKUs end together. */
  end?: string;
  /** ISO date of the first day; when given, every series starts here instead of ending at `end`. */
  start?: string;
  /** Share of each kind (normalised; default DEFAULT_MIX: nearly all smooth, a few erratic, intermittent and lumpy). */
  mix?: Partial<Record<DemandClass, number>>;
}

/** The kickoff plan's intermittent-demand examples; always present and always intermittent. */
export const PLAN_INTERMITTENT_SKUS = ['SKU-6823', 'SKU-8932', 'SKU-4782', 'SKU-5491'] as const;
const SPECIAL = new Set<number>(PLAN_INTERMITTENT_SKUS.map((s) => Number(s.slice(4))));

/** mulberry32: small, fast, good enough for synthetic data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashSeed(seed: number, n: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Standard normals by Box-Muller, both of each pair used. */
function normals(r: () => number): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const z = spare;
      spare = NaN;
      return z;
    }
    const rad = Math.sqrt(-2 * Math.log(1 - r()));
    const a = 2 * Math.PI * r();
    spare = rad * Math.sin(a);
    return rad * Math.cos(a);
  };
}

/** Poisson count: Knuth's product method, a rounded normal above mean 30. */
function poisson(r: () => number, normal: () => number, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
  const l = Math.exp(-mean);
  let k = 0;
  for (let p = r(); p > l; p *= r()) k++;
  return k;
}

/**
 * Default kind shares: a retail-like catalogue of mostly regular sellers, a small share of erratic
 * ones and a handful of slow movers (the plan's four intermittent SKUs come on top).
 */
export const DEFAULT_MIX: Record<DemandClass, number> = { smooth: 0.995, erratic: 0.0022, intermittent: 0.0006, lumpy: 0.0022 };

function shares(m: Partial<Record<DemandClass, number>> = DEFAULT_MIX): [DemandClass, number][] {
  const kinds = Object.keys(DEFAULT_MIX) as DemandClass[];
  const total = kinds.reduce((t, k) => t + Math.max(0, m[k] ?? 0), 0);
  if (!(total > 0)) throw new RangeError('mix needs at least one positive share');
  return kinds.map((k) => [k, Math.max(0, m[k] ?? 0) / total]);
}
const DAY_MS = 86_400_000;
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/**
 * The kind of SKU number n: the golden-ratio (Weyl) sequence frac(n * 0.618.. + offset), cut by the
 * shares. Any run of consecutive SKU numbers then gets each kind in very nearly its share (a kind of
 * share s appears at least once in every run of about 1.6 / s numbers), unlike independent draws
 * that can miss a rare kind; the offset comes from the seed, so seeds differ in which SKUs get
 * which kind.
 */
function kindOf(skuNumber: number, seed: number, mix: [DemandClass, number][]): DemandClass {
  let u = (skuNumber * GOLDEN + hashSeed(seed, -2) / 4294967296) % 1;
  let kind: DemandClass = 'smooth';
  for (const [k, share] of mix) {
    if (share <= 0) continue;
    kind = k;
    if ((u -= share) < 0) break;
  }
  return kind;
}

/** a + (b - a) * u, u uniform. */
const between = (r: () => number, a: number, b: number): number => a + (b - a) * r();
/** Log-uniform between a and b. */
const logBetween = (r: () => number, a: number, b: number): number => a * Math.exp(Math.log(b / a) * r());

/** Parameters of one kind's demand. */
interface Profile {
  /** Typical daily demand (smooth, erratic) or typical order size when demand occurs. */
  level: [number, number];
  /** Chance of any demand on a day (before seasonality/promotions). */
  pDemand: [number, number];
  /** Log-sd of the day-to-day multiplicative noise on the size. */
  sigma: [number, number];
  weeklyAmp: [number, number];
  yearlyAmp: [number, number];
  /** Mean days between promotions; lift range. */
  promoEvery: number;
  promoLift: [number, number];
}

const PROFILES: Record<DemandClass, Profile> = {
  // Regular sellers: tens to hundreds a day, Poisson counts around a mean with moderate extra noise.
  // (With 730 days of history a backtest's Prophet fits have no yearly term, so the yearly swing
  // stays mild.)
  smooth: { level: [80, 500], pDemand: [1, 1], sigma: [0.12, 0.16], weeklyAmp: [0.05, 0.35], yearlyAmp: [0, 0.1], promoEvery: 90, promoLift: [1.15, 1.5] },
  // Sold most days but in very irregular quantities (trade customers, bulk orders).
  erratic: { level: [8, 80], pDemand: [0.85, 0.97], sigma: [0.75, 1], weeklyAmp: [0.1, 0.4], yearlyAmp: [0, 0.3], promoEvery: 60, promoLift: [1.3, 2] },
  // Slow movers / spare parts: demand on a good share of days, in fairly stable sizes.
  intermittent: { level: [2, 12], pDemand: [0.4, 0.65], sigma: [0.05, 0.25], weeklyAmp: [0.05, 0.3], yearlyAmp: [0, 0.2], promoEvery: 120, promoLift: [1.2, 1.6] },
  // Occasional, irregular orders of very different sizes.
  lumpy: { level: [3, 30], pDemand: [0.15, 0.45], sigma: [0.85, 1.15], weeklyAmp: [0.05, 0.3], yearlyAmp: [0, 0.3], promoEvery: 120, promoLift: [1.3, 2] },
};

/** One SKU's series; kind forced for the plan's intermittent SKUs. */
export function generateSku(skuNumber: number, days: number, seed: number, start: string, mix: [DemandClass, number][] = shares()): SyntheticSeries {
  const r = rng(hashSeed(seed, skuNumber));
  const normal = normals(r);
  const kind: DemandClass = SPECIAL.has(skuNumber) ? 'intermittent' : kindOf(skuNumber, seed, mix);
  const pr = PROFILES[kind];
  const level = logBetween(r, ...pr.level);
  const pDemand = between(r, ...pr.pDemand);
  const sigma = between(r, ...pr.sigma);
  const weeklyAmp = between(r, ...pr.weeklyAmp);
  const peakDay = Math.floor(7 * r());
  const yearlyAmp = between(r, ...pr.yearlyAmp);
  const yearlyPhase = 2 * Math.PI * r();
  const trend = -0.3 + 0.8 * r(); // relative change over the series
  const promoRate = 1 / pr.promoEvery;
  const startDay = Date.parse(`${start}T00:00:00Z`) / DAY_MS;
  const y = new Float64Array(days);
  let promoLeft = 0;
  let promoLift = 1;
  for (let t = 0; t < days; t++) {
    if (promoLeft === 0 && r() < promoRate) {
      promoLeft = 3 + Math.floor(5 * r());
      promoLift = between(r, ...pr.promoLift);
    }
    const lift = promoLeft > 0 ? promoLift : 1;
    if (promoLeft > 0) promoLeft--;
    const dow = (((startDay + t + 3) % 7) + 7) % 7; // 0 = Monday (1970-01-01 was a Thursday)
    const season = (1 + weeklyAmp * Math.cos((2 * Math.PI * (dow - peakDay)) / 7)) *
      (1 + yearlyAmp * Math.sin((2 * Math.PI * (startDay + t)) / 365.25 + yearlyPhase));
    const mean = level * (1 + (trend * t) / days) * season * lift;
    // lognormal noise with mean 1
    const noise = Math.exp(sigma * normal() - (sigma * sigma) / 2);
    if (kind === 'smooth') y[t] = poisson(r, normal, mean * noise);
    else if (r() < Math.min(0.97, pDemand * (kind === 'erratic' ? 1 : season) * (lift > 1 ? 1.3 : 1))) {
      // intermittent: the seasonality moves the chance of demand, not the (stable) size
      const size = kind === 'intermittent' ? level * (1 + (trend * t) / days) * noise : mean * noise;
      y[t] = Math.max(1, Math.round(size));
    }
  }
  return { id: `SKU-${skuNumber}`, start, freqDays: 1, y, kind };
}

/** SKU numbers of a catalogue of n: the plan's four first, then 1, 2, ... skipping them. */
export function* skuNumbers(n: number): Generator<number> {
  let emitted = 0;
  for (const s of SPECIAL) {
    if (emitted++ >= n) return;
    yield s;
  }
  for (let i = 1; emitted < n; i++) {
    if (SPECIAL.has(i)) continue;
    emitted++;
    yield i;
  }
}

/** Lazily yields the catalogue (memory stays flat however many SKUs). */
export function* generateCatalogue(spec: CatalogueSpec): Generator<SyntheticSeries> {
  const seed = spec.seed ?? 42;
  const days = spec.days ?? [365, 730];
  const endDay = Date.parse(`${spec.end ?? '2024-12-31'}T00:00:00Z`) / DAY_MS;
  const lengths = rng(hashSeed(seed, -1));
  const kindShares = shares(spec.mix);
  for (const num of skuNumbers(spec.skus)) {
    const n = typeof days === 'number' ? days : days[0] + Math.floor(lengths() * (days[1] - days[0] + 1));
    const start = spec.start ?? new Date((endDay - n + 1) * DAY_MS).toISOString().slice(0, 10);
    yield generateSku(num, n, seed, start, kindShares);
  }
}

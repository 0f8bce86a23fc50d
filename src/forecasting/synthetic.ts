/**
 * Deterministic synthetic demand catalogue for demos, tests and benchmarks: daily series of four
 * kinds (the Syntetos-Boylan classes) with weekly and yearly seasonality, trend and promotions.
 * Each SKU's series depends only on (seed, SKU number), so a catalogue's first SKUs are the same
 * whatever its size.
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
  /** Share of each kind (normalised; default smooth 0.4, erratic 0.2, intermittent 0.25, lumpy 0.15). */
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

function normal(r: () => number): number {
  const u = 1 - r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

function poisson(r: () => number, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(r)));
  const l = Math.exp(-mean);
  let k = 0;
  for (let p = r(); p > l; p *= r()) k++;
  return k;
}

export const DEFAULT_MIX: Record<DemandClass, number> = { smooth: 0.4, erratic: 0.2, intermittent: 0.25, lumpy: 0.15 };

function shares(m: Partial<Record<DemandClass, number>> = DEFAULT_MIX): [DemandClass, number][] {
  const kinds = Object.keys(DEFAULT_MIX) as DemandClass[];
  const total = kinds.reduce((t, k) => t + Math.max(0, m[k] ?? 0), 0);
  if (!(total > 0)) throw new RangeError('mix needs at least one positive share');
  return kinds.map((k) => [k, Math.max(0, m[k] ?? 0) / total]);
}
const DAY_MS = 86_400_000;

/** One SKU's series; kind forced for the plan's intermittent SKUs. */
export function generateSku(skuNumber: number, days: number, seed: number, start: string, mix: [DemandClass, number][] = shares()): SyntheticSeries {
  const r = rng(hashSeed(seed, skuNumber));
  let kind: DemandClass = 'smooth';
  if (SPECIAL.has(skuNumber)) kind = 'intermittent';
  else {
    let u = r();
    for (const [k, share] of mix) {
      kind = k;
      if ((u -= share) < 0) break;
    }
  }
  const level = kind === 'smooth' || kind === 'erratic' ? 5 + 80 * r() * r() : 1 + 4 * r();
  const weeklyAmp = 0.1 + 0.35 * r();
  const peakDay = Math.floor(7 * r());
  const yearlyAmp = 0.3 * r();
  const yearlyPhase = 2 * Math.PI * r();
  const trend = -0.3 + 0.8 * r(); // relative change over the series
  const pDemand = kind === 'intermittent' || kind === 'lumpy' ? 0.12 + 0.45 * r() : kind === 'erratic' ? 0.9 : 1;
  const startDay = Date.parse(`${start}T00:00:00Z`) / DAY_MS;
  const y = new Float64Array(days);
  let promoLeft = 0;
  let promoLift = 1;
  for (let t = 0; t < days; t++) {
    if (promoLeft === 0 && r() < 0.01) {
      promoLeft = 3 + Math.floor(5 * r());
      promoLift = 1.5 + 1.5 * r();
    }
    const lift = promoLeft > 0 ? promoLift : 1;
    if (promoLeft > 0) promoLeft--;
    const dow = (((startDay + t + 3) % 7) + 7) % 7; // 0 = Monday (1970-01-01 was a Thursday)
    const season = (1 + weeklyAmp * Math.cos((2 * Math.PI * (dow - peakDay)) / 7)) *
      (1 + yearlyAmp * Math.sin((2 * Math.PI * (startDay + t)) / 365.25 + yearlyPhase));
    const mean = level * (1 + (trend * t) / days) * season * lift;
    if (kind === 'smooth') y[t] = poisson(r, mean);
    else if (kind === 'erratic') y[t] = r() < pDemand ? Math.round(mean * Math.exp(1.1 * normal(r) - 0.6)) : 0;
    else if (r() < Math.min(0.95, pDemand * season * (lift > 1 ? 1.5 : 1))) {
      y[t] = kind === 'intermittent' ? 1 + poisson(r, mean * 0.5) : Math.max(1, Math.round(mean * Math.exp(1.2 * normal(r))));
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

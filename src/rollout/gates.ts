import type { Comparator, Environment, GateName, GateResult, GateSpec } from './types';

/**
 * Gate evaluation, pure: the activity loads the rows of a window from PostgreSQL, these functions
 * turn them into a measured value and a verdict. Too little data is "inconclusive", never a pass.
 */

export interface RunSample {
  id: string;
  durationMs: number | null;
  peakMemoryPct: number | null;
  mape: number | null;
  outlierSkus: string[];
  /** Longest GC pause of the run's batches (ms), when recorded. */
  gcMaxMs?: number | null;
}
export interface PrefetchSample {
  durationMs: number | null;
  memoryImpactPct: number | null;
}
export interface HitCounts {
  hits: number;
  misses: number;
}
export interface SkuAccuracySample {
  runId: string;
  skuId: string;
  mape: number | null;
}

/** Everything a gate may be measured from, for one environment and window. */
export interface GateData {
  runs: RunSample[];
  /** Completed runs before the change (baseline). */
  baselineRuns: RunSample[];
  prefetches: PrefetchSample[];
  cache: HitCounts;
  peakCache: HitCounts;
  /** Accuracy rows of the window's runs for the flagged outlier SKUs (see flaggedOutliers). */
  outlierAccuracy: SkuAccuracySample[];
  /** The window's stability score and incidents (loaded only when a gate asks for them). */
  stability?: StabilitySample;
}

export interface StabilitySample {
  score: number | null;
  incidents: number;
  /** Events the score was measured from (runs ended, queries, requests, gate evaluations). */
  events: number;
}

export interface Measurement {
  value: number | null;
  samples: number;
  baseline: number | null;
  /** e.g. "mean of 3 runs" */
  how: string;
  /** Why there is no value, when there is none. */
  missing?: string;
}

interface Metric {
  unit: string;
  label: string;
  defaultMinSamples: number;
  measure(d: GateData): Measurement;
}

const finite = (xs: (number | null)[]) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : null);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function fromRuns(d: GateData, pick: (r: RunSample) => number | null, agg: 'mean' | 'max'): Measurement {
  const xs = finite(d.runs.map(pick));
  const base = finite(d.baselineRuns.map(pick));
  return {
    value: agg === 'mean' ? mean(xs) : max(xs),
    samples: xs.length,
    baseline: mean(base),
    how: `${agg} of ${plural(xs.length, 'forecast run')}`,
    missing: xs.length ? undefined : `no completed forecast runs with this metric in the window (${d.runs.length} runs)`,
  };
}

function fromPrefetches(d: GateData, pick: (p: PrefetchSample) => number | null): Measurement {
  const xs = finite(d.prefetches.map(pick));
  return {
    value: max(xs),
    samples: xs.length,
    baseline: null,
    how: `max of ${plural(xs.length, 'prefetch run')}`,
    missing: xs.length ? undefined : 'no completed prefetch runs in the window',
  };
}

function rate(c: HitCounts, of: 'hits' | 'misses', scope: string): Measurement {
  const total = c.hits + c.misses;
  return {
    value: total ? (100 * c[of]) / total : null,
    samples: total,
    baseline: null,
    how: `${of === 'hits' ? 'hit' : 'miss'} rate of ${plural(total, 'request')}${scope}`,
    missing: total ? undefined : `no requests${scope} in the window`,
  };
}

/** The SKUs whose accuracy the outlier-MAPE gate follows: the baseline's outliers, else the window's. */
export function flaggedOutliers(runs: RunSample[], baselineRuns: RunSample[]): string[] {
  const from = baselineRuns.some((r) => r.outlierSkus.length) ? baselineRuns : runs;
  return [...new Set(from.flatMap((r) => r.outlierSkus))].sort();
}

/**
 * The gate data of one cohort: each run's MAPE and outliers over the cohort's SKUs only, and the
 * outlier-MAPE gate over the cohort (its SKUs were the flagged outliers of the reference backtest).
 * `rows` are the accuracy rows of the window's runs for the cohort's SKUs.
 */
export function cohortGateData(d: GateData, rows: SkuAccuracySample[], outlierThreshold: number): GateData {
  // Only runs that scored the cohort: a run without accuracy rows says nothing about it.
  const scored = d.runs.filter((run) => rows.some((r) => r.runId === run.id));
  const runs = scored.map((run) => {
    const mine = rows.filter((r) => r.runId === run.id);
    return {
      ...run,
      mape: mean(finite(mine.map((r) => r.mape))),
      outlierSkus: mine.filter((r) => r.mape !== null && r.mape > outlierThreshold).map((r) => r.skuId),
    };
  });
  return { ...d, runs, baselineRuns: [], outlierAccuracy: rows.filter((r) => runs.some((run) => run.id === r.runId)) };
}

export const GATE_METRICS: Record<GateName, Metric> = {
  'forecast-duration': {
    unit: 'ms',
    label: 'Forecast duration',
    defaultMinSamples: 1,
    measure: (d) => fromRuns(d, (r) => r.durationMs, 'mean'),
  },
  'peak-memory': { unit: '%', label: 'Peak memory', defaultMinSamples: 1, measure: (d) => fromRuns(d, (r) => r.peakMemoryPct, 'max') },
  mape: { unit: '%', label: 'MAPE average', defaultMinSamples: 1, measure: (d) => fromRuns(d, (r) => r.mape, 'mean') },
  'cache-hit-rate': { unit: '%', label: 'Cache hit rate', defaultMinSamples: 100, measure: (d) => rate(d.cache, 'hits', '') },
  'peak-hour-misses': {
    unit: '%',
    label: 'Peak hour misses',
    defaultMinSamples: 100,
    measure: (d) => rate(d.peakCache, 'misses', ' in peak hours'),
  },
  'prefetch-duration': { unit: 'ms', label: 'Prefetch duration', defaultMinSamples: 1, measure: (d) => fromPrefetches(d, (p) => p.durationMs) },
  'prefetch-memory-impact': {
    unit: '%',
    label: 'Memory impact',
    defaultMinSamples: 1,
    measure: (d) => fromPrefetches(d, (p) => p.memoryImpactPct),
  },
  'outlier-count': {
    unit: 'SKUs',
    label: 'Outlier SKU count',
    defaultMinSamples: 1,
    measure: (d) => {
      const m = fromRuns(d, (r) => r.outlierSkus.length, 'max');
      return { ...m, baseline: max(d.baselineRuns.map((r) => r.outlierSkus.length)) };
    },
  },
  'stability-score': {
    unit: 'points',
    label: 'Stability score',
    defaultMinSamples: 1,
    measure: (d) => fromStability(d, (s) => s.score, 'stability score'),
  },
  incidents: {
    unit: 'incidents',
    label: 'Incidents',
    defaultMinSamples: 1,
    measure: (d) => fromStability(d, (s) => s.incidents, plural(d.stability?.incidents ?? 0, 'incident')),
  },
  'gc-pause': { unit: 'ms', label: 'Longest GC pause', defaultMinSamples: 1, measure: (d) => fromRuns(d, (r) => r.gcMaxMs ?? null, 'max') },
  'outlier-mape': {
    unit: '%',
    label: 'Avg outlier MAPE',
    defaultMinSamples: 1,
    measure: (d) => {
      const xs = finite(d.outlierAccuracy.map((a) => a.mape));
      const skus = new Set(d.outlierAccuracy.map((a) => a.skuId)).size;
      return {
        value: mean(xs),
        samples: xs.length,
        baseline: null,
        how: `mean MAPE of ${plural(skus, 'flagged SKU')} over ${plural(new Set(d.outlierAccuracy.map((a) => a.runId)).size, 'run')}`,
        missing: xs.length ? undefined : 'no accuracy rows for flagged outlier SKUs in the window',
      };
    },
  },
};

function fromStability(d: GateData, pick: (s: StabilitySample) => number | null, what: string): Measurement {
  const s = d.stability;
  const value = s && s.events ? pick(s) : null;
  return {
    value,
    samples: s?.events ?? 0,
    baseline: null,
    how: `${what} over ${plural(s?.events ?? 0, 'recorded event')}`,
    missing: value === null ? 'nothing ran in the window (no forecast runs, queries, cache requests or gate evaluations)' : undefined,
  };
}

export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
  }
}

/** The absolute threshold, tightened by baseline x factor when there is a baseline. */
export function effectiveThreshold(spec: GateSpec, baseline: number | null): number {
  if (spec.baselineFactor === undefined || baseline === null) return spec.threshold;
  const relative = baseline * spec.baselineFactor;
  return spec.comparator.startsWith('<') ? Math.min(spec.threshold, relative) : Math.max(spec.threshold, relative);
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) >= 100 ? 0 : 2));

export function evaluateGate(
  spec: GateSpec,
  m: Measurement,
  environment: Environment,
  window: { start: string; end: string },
): GateResult {
  const metric = GATE_METRICS[spec.gate];
  const threshold = effectiveThreshold(spec, m.baseline);
  const minSamples = spec.minSamples ?? metric.defaultMinSamples;
  const base = {
    gate: spec.gate,
    environment,
    measured: m.value,
    threshold,
    comparator: spec.comparator,
    unit: metric.unit,
    samples: m.samples,
    baseline: m.baseline,
    windowStart: window.start,
    windowEnd: window.end,
    ...(spec.mustHaveData === false ? { mustHaveData: false as const } : {}),
  };
  const criterion = `${spec.comparator} ${fmt(threshold)} ${metric.unit}`;
  const baselineNote =
    spec.baselineFactor === undefined
      ? ''
      : m.baseline === null
        ? ' (no baseline run: absolute threshold only)'
        : ` (baseline ${fmt(m.baseline)} ${metric.unit} x ${spec.baselineFactor}, absolute ${fmt(spec.threshold)})`;
  if (m.value === null || m.samples < minSamples) {
    const why = m.missing ?? `${m.samples} samples, at least ${minSamples} needed`;
    return { ...base, status: 'inconclusive', detail: `${why}; criterion ${criterion}` };
  }
  const ok = compare(m.value, spec.comparator, threshold);
  return {
    ...base,
    status: ok ? 'pass' : 'fail',
    detail: `${m.how}: ${fmt(m.value)} ${metric.unit} ${ok ? 'meets' : 'breaks'} ${criterion}${baselineNote}`,
  };
}

export function evaluateGates(
  specs: GateSpec[],
  data: GateData,
  environment: Environment,
  window: { start: string; end: string },
): GateResult[] {
  return specs.map((spec) => evaluateGate(spec, GATE_METRICS[spec.gate].measure(data), environment, window));
}

/** fail if any gate fails, else inconclusive if any is, else pass (an empty gate list is inconclusive). */
export function overallStatus(results: GateResult[]): 'pass' | 'fail' | 'inconclusive' {
  if (results.some((r) => r.status === 'fail')) return 'fail';
  if (!results.length || results.some((r) => r.status === 'inconclusive')) return 'inconclusive';
  return 'pass';
}

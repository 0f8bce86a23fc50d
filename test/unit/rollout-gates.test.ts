import { GATE_METRICS, effectiveThreshold, evaluateGate, evaluateGates, flaggedOutliers, overallStatus, type GateData, type RunSample } from '../../src/rollout/gates';
import type { GateSpec } from '../../src/rollout/types';

const window = { start: '2025-11-18T00:00:00.000Z', end: '2025-11-19T00:00:00.000Z' };
const run = (id: string, o: Partial<RunSample> = {}): RunSample => ({ id, durationMs: 1000, peakMemoryPct: 40, mape: 15, outlierSkus: [], ...o });
const data = (o: Partial<GateData> = {}): GateData => ({
  runs: [],
  baselineRuns: [],
  prefetches: [],
  cache: { hits: 0, misses: 0 },
  peakCache: { hits: 0, misses: 0 },
  outlierAccuracy: [],
  ...o,
});
const evaluate = (spec: GateSpec, d: GateData) => evaluateGates([spec], d, 'staging', window)[0];

describe('gate evaluation', () => {
  test('no data is inconclusive, never a pass', () => {
    for (const gate of Object.keys(GATE_METRICS) as GateSpec['gate'][]) {
      const r = evaluate({ gate, comparator: '<', threshold: 1e12 }, data());
      expect(r.status).toBe('inconclusive');
      expect(r.measured).toBeNull();
      expect(r.detail).toMatch(/no /);
    }
  });

  test('stability score and incidents come from the window\'s stability measurement; nothing recorded is inconclusive', () => {
    const score: GateSpec = { gate: 'stability-score', comparator: '>=', threshold: 99.5 };
    const none: GateSpec = { gate: 'incidents', comparator: '<=', threshold: 0 };
    expect(evaluate(score, data({ stability: { score: 99.99, incidents: 0, events: 40 } }))).toMatchObject({ status: 'pass', measured: 99.99, samples: 40, unit: 'points' });
    expect(evaluate(score, data({ stability: { score: 98.5, incidents: 1, events: 40 } }))).toMatchObject({ status: 'fail', measured: 98.5 });
    const one = evaluate(none, data({ stability: { score: 98.5, incidents: 1, events: 40 } }));
    expect(one).toMatchObject({ status: 'fail', measured: 1 });
    expect(one.detail).toBe('1 incident over 40 recorded events: 1 incidents breaks <= 0 incidents');
    expect(evaluate(none, data({ stability: { score: 100, incidents: 0, events: 3 } }))).toMatchObject({ status: 'pass', measured: 0 });
    // zero incidents out of nothing proves nothing
    expect(evaluate(none, data({ stability: { score: null, incidents: 0, events: 0 } })).status).toBe('inconclusive');
  });

  test('gc-pause is the longest pause over the runs', () => {
    const spec: GateSpec = { gate: 'gc-pause', comparator: '<', threshold: 100 };
    expect(evaluate(spec, data({ runs: [run('a', { gcMaxMs: 12 }), run('b', { gcMaxMs: 28 }), run('c', { gcMaxMs: null })] }))).toMatchObject({ status: 'pass', measured: 28, samples: 2 });
    expect(evaluate(spec, data({ runs: [run('a', { gcMaxMs: 140 })] }))).toMatchObject({ status: 'fail', measured: 140 });
  });

  test('peak memory is the max over runs, compared strictly', () => {
    const spec: GateSpec = { gate: 'peak-memory', comparator: '<', threshold: 62 };
    expect(evaluate(spec, data({ runs: [run('a', { peakMemoryPct: 50 }), run('b', { peakMemoryPct: 61.9 })] }))).toMatchObject({ status: 'pass', measured: 61.9, samples: 2 });
    expect(evaluate(spec, data({ runs: [run('a', { peakMemoryPct: 50 }), run('b', { peakMemoryPct: 62 })] }))).toMatchObject({ status: 'fail', measured: 62 });
  });

  test('MAPE is the mean over runs; null metrics do not count as samples', () => {
    const spec: GateSpec = { gate: 'mape', comparator: '<', threshold: 20 };
    const r = evaluate(spec, data({ runs: [run('a', { mape: 18 }), run('b', { mape: 21 }), run('c', { mape: null })] }));
    expect(r).toMatchObject({ status: 'pass', measured: 19.5, samples: 2 });
  });

  test('duration relative to the baseline: the stricter threshold applies', () => {
    const spec: GateSpec = { gate: 'forecast-duration', comparator: '<', threshold: 84_000, baselineFactor: 1.0 };
    const faster = evaluate(spec, data({ runs: [run('a', { durationMs: 900 })], baselineRuns: [run('b', { durationMs: 1000 })] }));
    expect(faster).toMatchObject({ status: 'pass', threshold: 1000, baseline: 1000 });
    const slower = evaluate(spec, data({ runs: [run('a', { durationMs: 1100 })], baselineRuns: [run('b', { durationMs: 1000 })] }));
    expect(slower.status).toBe('fail');
    expect(slower.detail).toMatch(/baseline 1000 ms x 1/);
    // Without a baseline the absolute threshold still applies, and the detail says so.
    const noBase = evaluate(spec, data({ runs: [run('a', { durationMs: 1100 })] }));
    expect(noBase).toMatchObject({ status: 'pass', threshold: 84_000 });
    expect(noBase.detail).toMatch(/no baseline/);
    expect(evaluate(spec, data({ runs: [run('a', { durationMs: 85_000 })] })).status).toBe('fail');
  });

  test('effective threshold for greater-than comparators takes the larger bound', () => {
    expect(effectiveThreshold({ gate: 'cache-hit-rate', comparator: '>', threshold: 99, baselineFactor: 1 }, 99.3)).toBe(99.3);
    expect(effectiveThreshold({ gate: 'mape', comparator: '<', threshold: 20, baselineFactor: 1.1 }, 10)).toBe(11);
  });

  test('hit rate needs enough requests; misses in peak hours', () => {
    const hit: GateSpec = { gate: 'cache-hit-rate', comparator: '>', threshold: 99 };
    expect(evaluate(hit, data({ cache: { hits: 10, misses: 0 } })).status).toBe('inconclusive');
    expect(evaluate(hit, data({ cache: { hits: 995, misses: 5 } }))).toMatchObject({ status: 'pass', measured: 99.5, samples: 1000 });
    expect(evaluate(hit, data({ cache: { hits: 980, misses: 20 } })).status).toBe('fail');
    expect(evaluate({ ...hit, minSamples: 5 }, data({ cache: { hits: 10, misses: 0 } })).status).toBe('pass');
    const peak: GateSpec = { gate: 'peak-hour-misses', comparator: '<', threshold: 0.5 };
    expect(evaluate(peak, data({ peakCache: { hits: 997, misses: 3 } }))).toMatchObject({ status: 'pass', measured: 0.3 });
    expect(evaluate(peak, data({ peakCache: { hits: 990, misses: 10 } })).status).toBe('fail');
  });

  test('prefetch gates use the slowest prefetch and the largest memory impact', () => {
    const d = data({ prefetches: [{ durationMs: 1000, memoryImpactPct: 2 }, { durationMs: 31_000, memoryImpactPct: 4 }] });
    expect(evaluate({ gate: 'prefetch-duration', comparator: '<', threshold: 30_000 }, d)).toMatchObject({ status: 'fail', measured: 31_000 });
    expect(evaluate({ gate: 'prefetch-memory-impact', comparator: '<', threshold: 5 }, d)).toMatchObject({ status: 'pass', measured: 4 });
  });

  test('outliers: count is the worst run; MAPE follows the SKUs flagged before the change', () => {
    const baselineRuns = [run('base', { outlierSkus: ['SKU-6823', 'SKU-8932', 'SKU-4782', 'SKU-5491'] })];
    const runs = [run('a', { outlierSkus: ['SKU-6823', 'SKU-1'] }), run('b', { outlierSkus: ['SKU-6823'] })];
    expect(flaggedOutliers(runs, baselineRuns)).toEqual(['SKU-4782', 'SKU-5491', 'SKU-6823', 'SKU-8932']);
    expect(flaggedOutliers(runs, [])).toEqual(['SKU-1', 'SKU-6823']);
    const count = evaluate({ gate: 'outlier-count', comparator: '<=', threshold: 3 }, data({ runs, baselineRuns }));
    expect(count).toMatchObject({ status: 'pass', measured: 2, baseline: 4 });
    const outlierAccuracy = [
      { runId: 'a', skuId: 'SKU-6823', mape: 22 },
      { runId: 'a', skuId: 'SKU-8932', mape: 25 },
      { runId: 'b', skuId: 'SKU-6823', mape: 21 },
    ];
    const m = evaluate({ gate: 'outlier-mape', comparator: '<', threshold: 24 }, data({ runs, baselineRuns, outlierAccuracy }));
    expect(m.status).toBe('pass');
    expect(m.measured).toBeCloseTo(68 / 3);
    expect(m.detail).toMatch(/2 flagged SKUs over 2 runs/);
  });

  test('minSamples makes a thin window inconclusive', () => {
    const r = evaluate({ gate: 'mape', comparator: '<', threshold: 20, minSamples: 3 }, data({ runs: [run('a'), run('b')] }));
    expect(r.status).toBe('inconclusive');
    expect(r.detail).toMatch(/2 samples, at least 3 needed/);
  });

  test('overall: fail beats inconclusive beats pass; no gates is inconclusive', () => {
    const mk = (status: 'pass' | 'fail' | 'inconclusive') =>
      evaluateGate({ gate: 'mape', comparator: '<', threshold: 20 }, { value: status === 'pass' ? 1 : status === 'fail' ? 30 : null, samples: 1, baseline: null, how: 'x' }, 'staging', window);
    expect(overallStatus([mk('pass'), mk('pass')])).toBe('pass');
    expect(overallStatus([mk('pass'), mk('inconclusive')])).toBe('inconclusive');
    expect(overallStatus([mk('inconclusive'), mk('fail')])).toBe('fail');
    expect(overallStatus([])).toBe('inconclusive');
  });
});

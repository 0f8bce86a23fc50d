import type { ForecastBatchResult } from '../../src/activities/forecast';
import { countInto, mergeCounts } from '../../src/forecasting/counts';
import { countBatch, countGap, etaMs, newCounters, progress } from '../../src/workflows/forecast-run-state';

const batch = (o: Partial<ForecastBatchResult> = {}): ForecastBatchResult =>
  ({ batchIndex: 0, skus: 100, alreadyDone: false, peakRssMb: 200, peakMemoryPct: 2, modelCounts: { Prophet: 90, TSB: 10 }, ...o }) as ForecastBatchResult;

describe('counts', () => {
  it('merges counts by name, in place', () => {
    const into: Record<string, number> = { Prophet: 1 };
    expect(mergeCounts(into, { Prophet: 2, TSB: 3 })).toBe(into);
    expect(into).toEqual({ Prophet: 3, TSB: 3 });
    countInto(into, 'CrostonSBA');
    expect(into.CrostonSBA).toBe(1);
  });
});

describe('forecastRun counters', () => {
  it('counts batches: SKUs, reuse, peaks and model counts', () => {
    const c = newCounters();
    countBatch(c, batch(), 1000);
    countBatch(c, batch({ skus: 50, alreadyDone: true, peakRssMb: 150, peakMemoryPct: 3, modelCounts: { Prophet: 50 } }), 3000);
    expect(c).toMatchObject({ batchesDone: 2, skusDone: 150, batchesReused: 1, batchWallMs: 4000, peakRssMb: 200, peakMemoryPct: 3, modelCounts: { Prophet: 140, TSB: 10 } });
  });

  it('counts gaps with their delay', () => {
    const c = newCounters();
    countGap(c, 300);
    countGap(c, 0);
    expect(c).toMatchObject({ gaps: 2, totalDelayMs: 300, currentDelayMs: 0 });
  });

  it('has no ETA before the first batch, then mean batch time over the lanes plus the delays to come', () => {
    const c = newCounters();
    expect(etaMs(c, 7, 1, 0)).toBeNull();
    countBatch(c, batch(), 1000);
    countBatch(c, batch(), 3000);
    c.currentDelayMs = 300;
    // 5 batches left at 2000 ms, one lane, 5 delays of 300 ms.
    expect(etaMs(c, 7, 1, 0)).toBe(5 * 2000 + 5 * 300);
    // Two lanes halve the batch time; a batch already in flight has had its delay.
    expect(etaMs(c, 7, 2, 1)).toBe((5 * 2000) / 2 + 4 * 300);
    // Lanes never exceed the batches left.
    expect(etaMs(c, 3, 8, 0)).toBe(2000 + 300);
  });

  it('answers progress: paused shows while running, totals from the prepared run', () => {
    const c = newCounters();
    countBatch(c, batch(), 1000);
    const base = { runId: 'r', environment: 'staging', runDate: '2025-03-01', inFlight: 0, counters: c, prepared: { skus: 700, batches: 7, maxParallel: 1 } };
    expect(progress({ ...base, status: 'running', paused: true })).toMatchObject({ status: 'paused', skusTotal: 700, skusDone: 100, batchesTotal: 7, batchesDone: 1, etaMs: 6000 });
    expect(progress({ ...base, status: 'preloading', paused: true }).status).toBe('preloading');
    expect(progress({ ...base, prepared: undefined, status: 'listing', paused: false })).toMatchObject({ skusTotal: 0, batchesTotal: 0 });
  });
});

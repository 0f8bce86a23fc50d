import { backtestCatalogue, backtestSku } from '../../../src/forecasting/backtest';
import { ForecastInputError, type SeriesInput } from '../../../src/forecasting/types';

const s = (y: number[], id = 'A'): SeriesInput => ({ id, start: '2024-01-01', freqDays: 1, y: Float64Array.from(y) });

describe('backtestSku (rolling origin, expanding window)', () => {
  test('Naive on a hand-checked series', () => {
    // n = 8, horizon 2, 2 windows, step 2: origins at 4 and 6
    // window 1: train [1,2,3,4] -> forecast 4,4 vs actual 5,6: errors 1,2
    // window 2: train [..,6] -> forecast 6,6 vs actual 7,8: errors 1,2
    const r = backtestSku(s([1, 2, 3, 4, 5, 6, 7, 8]), { horizon: 2, windows: 2, model: 'Naive', seasonLength: 1 });
    expect(r.points).toBe(4);
    expect(r.mape).toBeCloseTo((100 * (1 / 5 + 2 / 6 + 1 / 7 + 2 / 8)) / 4, 10);
    expect(r.wape).toBeCloseTo((100 * 6) / 26, 10);
    expect(r.bias).toBeCloseTo(-1.5, 12);
    // lag-1 in-sample MAE is 1 in both windows -> MASE = mean(1.5, 1.5)
    expect(r.mase).toBeCloseTo(1.5, 12);
    // M5 scale (lag-1 MSE of the training data) is 1: RMSSE = sqrt(mean(1, 4)) per window
    expect(r.rmsse).toBeCloseTo(Math.sqrt(2.5), 12);
    // horizon totals: 8 vs 11, then 12 vs 15
    expect(r.totalWape).toBeCloseTo((100 * 6) / 26, 10);
    expect(r.outlier).toBe(false);
  });
  test('interval coverage and scaled pinball on a constructed case', () => {
    // Naive, h = 1, origins 4 and 5. Origin 4: calibration forecasts 2 vs 3 and 3 vs 4 (scores 1, 1),
    // so the sample is 3, 3, 5, 5 and [3, 5] at 80 %: the actual 5 is inside. Origin 5: [4, 6]
    // around 5, actual 7 outside. Coverage 50 %.
    const r = backtestSku(s([1, 2, 3, 4, 5, 7]), { horizon: 1, windows: 2, model: 'Naive', levels: [80], nWindows: 2 });
    expect(r.coverage).toEqual({ 80: 50 });
    // pinball per bound (tau 0.1 and 0.9) over the lag-1 MAE (1): origin 4: 0.1*2 + 0 -> 0.1;
    // origin 5: 0.1*3 + 0.9*1 -> 0.6; mean 0.35
    expect(r.spl).toBeCloseTo(0.35, 12);
  });
  test('OUTLIER_METRIC picks the metric and its default threshold', () => {
    const r = backtestSku(s([1, 2, 3, 4, 5, 6, 7, 8]), { horizon: 2, windows: 2, model: 'Naive', outlierMetric: 'rmsse' });
    expect(r.outlier).toBe(true); // RMSSE 1.58 > 1
  });
  test('step smaller than horizon overlaps windows', () => {
    const r = backtestSku(s([1, 2, 3, 4, 5, 6, 7, 8]), { horizon: 2, windows: 3, step: 1, model: 'Naive' });
    expect(r.points).toBe(6);
  });
  test('outlier above the threshold', () => {
    const r = backtestSku(s([1, 2, 3, 4, 5, 6, 7, 8]), { horizon: 2, windows: 2, model: 'Naive', outlierThreshold: 10 });
    expect(r.outlier).toBe(true);
  });
  test('too short for the windows', () => {
    expect(() => backtestSku(s([1, 2, 3]), { horizon: 2, windows: 2 })).toThrow(ForecastInputError);
  });
  test('policy selection runs on each training window', () => {
    const y = Array.from({ length: 60 }, (_, t) => (t % 4 === 0 ? 3 : 0));
    expect(backtestSku(s(y), { horizon: 7, windows: 2, selection: { policy: 'plan' } }).model).toBe('CrostonClassic');
    expect(backtestSku(s(y), { horizon: 7, windows: 2, selection: { policy: 'sbc' } }).model).toBe('CrostonSBA');
  });
});

describe('backtestCatalogue', () => {
  const a = s([1, 2, 3, 4, 5, 6, 7, 8], 'A'); // Naive: MAPE ≈ 23.1
  const b = s([10, 10, 10, 10, 10, 10, 20, 0], 'B'); // Naive: errors 0,0 then 10 (20), 10 (0)
  async function* gen() {
    yield a;
    yield s([1], 'SHORT');
    yield b;
  }
  test('summary over an async iterable, skipping bad SKUs', async () => {
    const r = await backtestCatalogue(gen(), { horizon: 2, windows: 2, model: 'Naive', outlierThreshold: 20 });
    expect(r.summary.skus).toBe(2);
    expect(r.summary.skipped).toBe(1);
    expect(r.skippedSkus[0].id).toBe('SHORT');
    const mapeA = (100 * (1 / 5 + 2 / 6 + 1 / 7 + 2 / 8)) / 4;
    const mapeB = (100 * (0 + 0 + 10 / 20)) / 3;
    expect(r.summary.mape).toBeCloseTo((mapeA + mapeB) / 2, 10);
    expect(r.summary.wape).toBeCloseTo((100 * (6 + 20)) / (26 + 40), 10);
    expect(r.summary.outlierCount).toBe(1);
    expect(r.summary.avgOutlierMape).toBeCloseTo(Math.max(mapeA, mapeB), 10);
    expect(r.skus.map((x) => x.id)).toEqual(['A', 'B']);
  });
  test('keepSkus false keeps no rows but still reports each SKU', async () => {
    const seen: string[] = [];
    const r = await backtestCatalogue([a, b], { horizon: 2, windows: 2, model: 'Naive', keepSkus: false, onSku: (x) => seen.push(x.id) });
    expect(r.skus).toEqual([]);
    expect(seen).toEqual(['A', 'B']);
  });
});

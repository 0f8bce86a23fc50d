import { bias, ErrorSums, IntervalSums, levelQuantiles, m5Scale, mape, mase, pinball, rmsse, seasonalNaiveScale, wape } from '../../../src/forecasting/metrics';

const f = (xs: number[]) => Float64Array.from(xs);

describe('metrics (hand-computed)', () => {
  const actual = f([10, 0, 5, 20]);
  const fc = f([12, 1, 5, 15]);
  test('MAPE skips zero actuals, in percent', () => {
    // |2|/10, |0|/5, |5|/20 -> (0.2 + 0 + 0.25) / 3
    expect(mape(actual, fc)).toBeCloseTo((100 * 0.45) / 3, 12);
  });
  test('MAPE is NaN when every actual is zero', () => expect(mape(f([0, 0]), f([1, 2]))).toBeNaN());
  test('WAPE = sum|e| / sum|y|', () => expect(wape(actual, fc)).toBeCloseTo((100 * 8) / 35, 12));
  test('bias = mean(forecast - actual)', () => expect(bias(actual, fc)).toBeCloseTo((2 + 1 + 0 - 5) / 4, 12));
  test('seasonal-naive scale and MASE/RMSSE', () => {
    const train = f([1, 2, 3, 2, 4, 6]); // lag 3 diffs: 1, 2, 3
    expect(seasonalNaiveScale(train, 3)).toBe(2);
    expect(seasonalNaiveScale(train, 3, 2)).toBeCloseTo(14 / 3, 12);
    // MAE of the test = 2 -> MASE 1; MSE = 4 -> RMSSE sqrt(4 / (14/3))
    expect(mase(f([5, 5]), f([3, 7]), train, 3)).toBe(1);
  });
  test('RMSSE uses the M5 scale: one-step naive from the first non-zero demand', () => {
    // leading zeros dropped; lag-1 diffs of [2, 4, 4, 1]: 2, 0, -3 -> mean square 13/3
    const train = f([0, 0, 2, 4, 4, 1]);
    expect(m5Scale(train)).toBeCloseTo(13 / 3, 12);
    expect(m5Scale(train, 1)).toBeCloseTo(5 / 3, 12);
    // MSE of the test = 4 -> RMSSE sqrt(4 / (13/3))
    expect(rmsse(f([5, 5]), f([3, 7]), train)).toBeCloseTo(Math.sqrt(12 / 13), 12);
    expect(m5Scale(f([0, 0, 3]))).toBeNaN();
  });
  test('scale falls back to lag 1 on a history no longer than a season; NaN when flat', () => {
    expect(seasonalNaiveScale(f([1, 3, 2]), 7)).toBe(1.5);
    expect(mase(f([1]), f([2]), f([4, 4, 4]), 1)).toBeNaN();
  });
  test('pinball loss and interval coverage on a constructed case', () => {
    expect(levelQuantiles(80)).toEqual([0.1, 0.9]);
    expect(pinball(10, 8, 0.9)).toBeCloseTo(1.8, 12); // under: tau * 2
    expect(pinball(10, 12, 0.9)).toBeCloseTo(0.2, 12); // over: (1 - tau) * 2
    // 5 actuals, interval [2, 6]: 1 below, 3 inside (edges count), 1 above -> 60 %
    const a = f([1, 2, 4, 6, 9]);
    const lo = f([2, 2, 2, 2, 2]);
    const hi = f([6, 6, 6, 6, 6]);
    const iv = new IntervalSums(80).add(a, lo, hi);
    expect(iv.coverage).toBeCloseTo(60, 12);
    // lower bound (tau 0.1): 0.9*1 + 0 + 0.1*2 + 0.1*4 + 0.1*7 = 2.2; upper (0.9): 0.1*5 + 0.1*4 + 0.1*2 + 0 + 0.9*3 = 3.8
    expect(iv.pinball).toBeCloseTo((2.2 + 3.8) / 10, 12);
  });
  test('ErrorSums merge equals one pass', () => {
    const a = new ErrorSums().add(actual, fc.subarray(0, 2)).merge(new ErrorSums().add(actual, fc.subarray(2), 2));
    const b = new ErrorSums().add(actual, fc);
    expect(a).toEqual(b);
  });
});

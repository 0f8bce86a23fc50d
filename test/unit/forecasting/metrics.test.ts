import { bias, ErrorSums, mape, mase, rmsse, seasonalNaiveScale, wape } from '../../../src/forecasting/metrics';

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
    expect(rmsse(f([5, 5]), f([3, 7]), train, 3)).toBeCloseTo(Math.sqrt(12 / 14), 12);
  });
  test('scale falls back to lag 1 on a history no longer than a season; NaN when flat', () => {
    expect(seasonalNaiveScale(f([1, 3, 2]), 7)).toBe(1.5);
    expect(mase(f([1]), f([2]), f([4, 4, 4]), 1)).toBeNaN();
  });
  test('ErrorSums merge equals one pass', () => {
    const a = new ErrorSums().add(actual, fc.subarray(0, 2)).merge(new ErrorSums().add(actual, fc.subarray(2), 2));
    const b = new ErrorSums().add(actual, fc);
    expect(a).toEqual(b);
  });
});

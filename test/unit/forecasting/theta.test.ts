/**
 * Theta's parts on constructed cases (its parity with statsforecast on real series is in
 * parity.test.ts and intervals.test.ts).
 */
import { forecastSku } from '../../../src/forecasting/engine';
import { isSeasonal, nelderMead, seasonalIndices, Theta, thetaForecast } from '../../../src/forecasting/models/theta';
import { ForecastInputError, type SeriesInput } from '../../../src/forecasting/types';

const s = (y: number[]): SeriesInput => ({ id: 'A', start: '2024-01-01', freqDays: 1, y: Float64Array.from(y) });

describe('nelderMead', () => {
  test('finds the minimum of a bowl inside the bounds', () => {
    const x = nelderMead((p) => (p[0] - 3) ** 2 + 10 * (p[1] - 0.4) ** 2, Float64Array.of(1, 0.5), Float64Array.of(-10, 0.1), Float64Array.of(10, 0.99));
    expect(x[0]).toBeCloseTo(3, 1);
    expect(x[1]).toBeCloseTo(0.4, 1);
  });
  test('stays inside the bounds when the minimum is outside', () => {
    const x = nelderMead((p) => (p[0] - 3) ** 2 + (p[1] - 5) ** 2, Float64Array.of(1, 0.5), Float64Array.of(-10, 0.1), Float64Array.of(10, 0.99));
    expect(x[1]).toBeLessThanOrEqual(0.99);
    expect(x[1]).toBeCloseTo(0.99, 2);
  });
});

describe('seasonality test and decomposition', () => {
  const weekly = Array.from({ length: 70 }, (_, t) => [10, 12, 14, 13, 20, 30, 8][t % 7] * (1 + t / 200));
  test('a strong weekly pattern is seasonal; noise and a constant are not', () => {
    expect(isSeasonal(Float64Array.from(weekly), 7)).toBe(true);
    let seed = 7;
    const noise = Float64Array.from({ length: 70 }, () => (seed = (seed * 48271) % 2147483647) / 2147483647);
    expect(isSeasonal(noise, 7)).toBe(false);
    expect(isSeasonal(new Float64Array(70).fill(5), 7)).toBe(false);
    // too short (under two seasons) or season below 4: never tested
    expect(isSeasonal(Float64Array.from(weekly.slice(0, 13)), 7)).toBe(false);
    expect(isSeasonal(Float64Array.from(weekly), 3)).toBe(false);
  });
  test('multiplicative indices average 1 and follow the pattern; additive ones average 0', () => {
    const mult = seasonalIndices(Float64Array.from(weekly), 7, true);
    expect(mult.reduce((a, b) => a + b, 0) / 7).toBeCloseTo(1, 12);
    expect(Array.from(mult).indexOf(Math.max(...mult))).toBe(5);
    const add = seasonalIndices(Float64Array.from(weekly), 7, false);
    expect(add.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 10);
  });
});

describe('Theta', () => {
  test('a straight line is continued with half its slope on top of SES (theta = 2)', () => {
    const f = thetaForecast(Float64Array.from({ length: 40 }, (_, t) => 10 + 2 * t), 1, 3);
    // the forecast keeps rising, by about half the slope per step (the theta line's drift)
    expect(f[1] - f[0]).toBeGreaterThan(0.9);
    expect(f[1] - f[0]).toBeLessThan(1.1);
    expect(f[0]).toBeGreaterThan(80);
  });
  test('a seasonal series gets its season back on the forecast', () => {
    const y = Array.from({ length: 84 }, (_, t) => [10, 12, 14, 13, 20, 30, 8][t % 7]);
    const f = thetaForecast(Float64Array.from(y), 7, 7);
    // 84 points: the forecast starts on position 0 of the pattern; the peak lands on position 5
    expect(Array.from(f).indexOf(Math.max(...f))).toBe(5);
    expect(Array.from(f).indexOf(Math.min(...f))).toBe(6);
  });
  test('fewer than 4 points forecast NaN; the engine refuses them naming the need', () => {
    expect(Array.from(new Theta(7).fit(s([1, 2, 3])).forecast(2)).every(Number.isNaN)).toBe(true);
    let err: unknown;
    try {
      forecastSku(s([1, 2, 3]), { horizon: 2, model: 'Theta' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ForecastInputError);
    expect((err as ForecastInputError).problem).toMatch(/need at least 4/);
  });
  test('bad season length is refused', () => {
    expect(() => new Theta(0)).toThrow(/seasonLength must be a positive integer/);
  });
});

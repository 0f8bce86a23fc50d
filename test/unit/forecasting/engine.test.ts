import { forecastSku } from '../../../src/forecasting/engine';
import { createModel } from '../../../src/forecasting/models';
import { ForecastInputError, MODEL_NAMES, type ModelName, type SeriesInput } from '../../../src/forecasting/types';

const s = (y: number[], id = 'SKU-42'): SeriesInput => ({ id, start: '2024-01-01', freqDays: 1, y: Float64Array.from(y) });
const history = s(Array.from({ length: 60 }, (_, t) => (t % 3 === 0 ? 0 : 2 + (t % 5))));

function inputError(fn: () => unknown): ForecastInputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ForecastInputError);
    return e as ForecastInputError;
  }
  throw new Error('expected a ForecastInputError');
}

describe('forecastSku', () => {
  test('explicit model', () => {
    const r = forecastSku(history, { horizon: 5, model: 'CrostonClassic' });
    expect(r.model).toBe('CrostonClassic');
    expect(r.forecast).toHaveLength(5);
    expect(r.forecast[0]).toBeGreaterThan(0);
    expect(r.reason).toBe('requested');
  });
  test('policy picks the model (plan: no zeros, low CV² -> Prophet)', () => {
    const r = forecastSku(s(Array.from({ length: 60 }, (_, t) => 10 + (t % 7))), { horizon: 3 });
    expect(r.model).toBe('Prophet');
    expect(r.forecast).toHaveLength(3);
    expect(Array.from(r.forecast).every((v) => v >= 0)).toBe(true);
  });
  test('params reach the model', () => {
    const a = forecastSku(history, { horizon: 1, model: 'SES', params: { alpha: 0.5 } }).forecast[0];
    const b = forecastSku(history, { horizon: 1, model: 'SES', params: { alpha: 0.1 } }).forecast[0];
    expect(a).not.toBeCloseTo(b, 6);
  });
  test.each(MODEL_NAMES.map((m) => [m]))('all-zero history forecasts zeros with %s', (model) => {
    const r = forecastSku(s(new Array(30).fill(0)), { horizon: 4, model: model as ModelName });
    expect(Array.from(r.forecast)).toEqual([0, 0, 0, 0]);
  });
  test('every policy forecasts zeros for an all-zero history', () => {
    for (const policy of ['plan', 'sbc', 'backtest-best'] as const) {
      expect(Array.from(forecastSku(s(new Array(40).fill(0)), { horizon: 2, selection: { policy } }).forecast)).toEqual([0, 0]);
    }
  });
});

describe('bad input -> ForecastInputError naming the SKU and the problem', () => {
  test.each([
    ['NaN', s([1, NaN, 2]), /not a finite number/],
    ['negative', s([1, -2, 3]), /negative history value -2 at position 1/],
    ['empty', s([]), /empty history/],
    ['too short', s([4]), /too short/],
  ])('%s', (_label, series, problem) => {
    const e = inputError(() => forecastSku(series, { horizon: 3, model: 'SES' }));
    expect(e.sku).toBe('SKU-42');
    expect(e.problem).toMatch(problem);
    expect(e.message).toContain('SKU-42');
  });
  test('SeasonalNaive needs a full season', () => {
    expect(inputError(() => forecastSku(s([1, 2, 3]), { horizon: 2, model: 'SeasonalNaive' })).problem).toMatch(/need at least 7/);
  });
  test.each([[0], [-1], [1.5], [NaN]])('horizon %p', (h) => {
    expect(inputError(() => forecastSku(history, { horizon: h, model: 'Naive' })).problem).toMatch(/horizon must be a positive whole number/);
  });
  test('unknown model name', () => {
    const e = inputError(() => forecastSku(history, { horizon: 1, model: 'Arima' as ModelName }));
    expect(e.problem).toMatch(/unknown model "Arima"/);
  });
  test('bad start date and frequency', () => {
    expect(inputError(() => forecastSku({ ...history, start: '2024-02-30' }, { horizon: 1 })).problem).toMatch(/ISO date/);
    expect(inputError(() => forecastSku({ ...history, freqDays: 0 }, { horizon: 1 })).problem).toMatch(/freqDays/);
  });
  test('bad model params', () => {
    expect(inputError(() => forecastSku(history, { horizon: 1, model: 'SES', params: { alpha: 2 } })).problem).toMatch(/alpha must be between 0 and 1/);
  });
});

describe('registry', () => {
  test.each(MODEL_NAMES.map((m) => [m]))('createModel(%s) names itself', (name) => {
    expect(createModel(name as ModelName).name).toBe(name);
  });
  test('unknown name', () => expect(() => createModel('Nope' as ModelName)).toThrow(ForecastInputError));
});

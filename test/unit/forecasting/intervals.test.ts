/**
 * Conformal prediction intervals: parity with statsforecast 2.1.x ConformalIntervals(h, n_windows,
 * method='conformal_distribution') on real series (fixture: scripts/parity/make_statsforecast_fixtures.py),
 * for every statsforecast model and for combinations of statsforecast members; the engine's
 * served intervals; level parsing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigValue } from '../../../src/config/schema';
import { conformalIntervals, conformityScores, parseLevels, validateWindows } from '../../../src/forecasting/conformal';
import { forecastSku } from '../../../src/forecasting/engine';
import { createModel, type ModelParams } from '../../../src/forecasting/models';
import { ForecastInputError, type ModelName, type SeriesInput } from '../../../src/forecasting/types';

interface Run {
  model: ModelName;
  params: ModelParams;
  nWindows: number;
  error?: boolean;
  mean?: (number | null)[];
  [bound: `${'lo' | 'hi'}-${number}`]: (number | null)[];
}
interface Fixture {
  statsforecast: string;
  horizon: number;
  series: { id: string; start: string; freqDays: number; y: number[]; runs: Run[] }[];
}

const fx = JSON.parse(readFileSync(join(__dirname, '../../fixtures/parity/statsforecast-intervals.json'), 'utf8')) as Fixture;
const LEVELS = [80, 95];

/** 1e-6 relative; near zero an absolute 1e-9 (fixtures keep 12 significant digits). */
function mismatch(ours: Float64Array, theirs: (number | null)[]): string | null {
  if (ours.length !== theirs.length) return `length ${ours.length} vs ${theirs.length}`;
  for (let i = 0; i < ours.length; i++) {
    const t = theirs[i];
    if (t === null) {
      if (!Number.isNaN(ours[i])) return `[${i}] ours ${ours[i]}, statsforecast NaN`;
    } else if (!(Math.abs(ours[i] - t) <= 1e-6 * Math.max(Math.abs(t), 1e-3))) {
      return `[${i}] ours ${ours[i]}, statsforecast ${t}`;
    }
  }
  return null;
}

describe(`conformal intervals vs statsforecast ${fx.statsforecast}`, () => {
  test('the fixture covers every model, both window counts and combinations', () => {
    const runs = fx.series.flatMap((s) => s.runs);
    expect(new Set(runs.map((r) => r.model)).size).toBe(13); // the 12 statsforecast models and Ensemble
    expect(new Set(runs.map((r) => r.nWindows))).toEqual(new Set([2, 3]));
    expect(runs.filter((r) => !r.error).length).toBeGreaterThan(300);
  });
  for (const s of fx.series) {
    test(s.id, () => {
      const y = Float64Array.from(s.y);
      const series: SeriesInput = { id: s.id, start: s.start, freqDays: s.freqDays, y };
      const h = fx.horizon;
      const problems: string[] = [];
      for (const run of s.runs) {
        const label = `${run.model}${JSON.stringify(run.params)} n_windows=${run.nWindows}`;
        const model = createModel(run.model, run.params);
        const raw = (train: Float64Array) => model.fit({ ...series, y: train }).forecast(h);
        if (run.error) {
          if (!(() => { try { conformityScores(s.id, y, h, run.nWindows, raw); return false; } catch (e) { return e instanceof ForecastInputError; } })()) {
            problems.push(`${label}: statsforecast refused the series, we did not`);
          }
          continue;
        }
        const mean = raw(y);
        const m = mismatch(mean, run.mean!);
        if (m) problems.push(`${label} mean ${m}`);
        const ivs = conformalIntervals(mean, conformityScores(s.id, y, h, run.nWindows, raw), LEVELS);
        for (const iv of ivs) {
          const lo = mismatch(iv.lo, run[`lo-${iv.level}`]);
          const hi = mismatch(iv.hi, run[`hi-${iv.level}`]);
          if (lo) problems.push(`${label} lo-${iv.level} ${lo}`);
          if (hi) problems.push(`${label} hi-${iv.level} ${hi}`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

describe('served intervals (forecastSku)', () => {
  const s = (y: number[]): SeriesInput => ({ id: 'A', start: '2024-01-01', freqDays: 1, y: Float64Array.from(y) });
  test('an all-zero history gives zero-width intervals at zero', () => {
    for (const model of ['CrostonSBA', 'Prophet', 'Ensemble', 'SESOptimized'] as const) {
      const r = forecastSku(s(new Array(40).fill(0)), { horizon: 7, model, levels: [80, 95] });
      expect(r.intervals!.map((i) => i.level)).toEqual([80, 95]);
      for (const iv of r.intervals!) {
        expect([...iv.lo]).toEqual(new Array(7).fill(0));
        expect([...iv.hi]).toEqual(new Array(7).fill(0));
      }
    }
  });
  test('bounds are cut at 0, nest by level and bracket the forecast', () => {
    const y = Array.from({ length: 60 }, (_, t) => (t % 5 === 0 ? 9 : t % 3));
    const r = forecastSku(s(y), { horizon: 5, model: 'TSB', levels: [80, 95], nWindows: 4 });
    const [i80, i95] = r.intervals!;
    for (let j = 0; j < 5; j++) {
      expect(i95.lo[j]).toBeGreaterThanOrEqual(0);
      expect(i95.lo[j]).toBeLessThanOrEqual(i80.lo[j]);
      expect(i80.lo[j]).toBeLessThanOrEqual(r.forecast[j]);
      expect(i80.hi[j]).toBeGreaterThanOrEqual(r.forecast[j]);
      expect(i95.hi[j]).toBeGreaterThanOrEqual(i80.hi[j]);
    }
  });
  test('a history too short for two windows is refused naming the SKU', () => {
    expect(() => forecastSku(s([1, 2, 3, 4, 5]), { horizon: 3, model: 'Naive', levels: [80] })).toThrow(/SKU A: history too short for prediction intervals: 5 point\(s\), need at least 7/);
  });
});

describe('parseLevels', () => {
  test('repeated and comma-separated, sorted, deduplicated', () => {
    expect(parseLevels(['95', '80'])).toEqual([80, 95]);
    expect(parseLevels(['80,95', '95'])).toEqual([80, 95]);
    expect(parseLevels([99.5])).toEqual([99.5]);
  });
  test.each(['0', '100', '150', 'abc', '', '-5'])('refuses %p naming the flag', (v) => {
    expect(() => parseLevels([v])).toThrow(new RegExp(`--level must be a number strictly between 0 and 100 .*got "${v}"`));
  });
  test('FORECAST_INTERVAL_LEVELS: normalised, "none" for none, bad lists refused naming the key', () => {
    expect(parseConfigValue('FORECAST_INTERVAL_LEVELS', '95, 80,95')).toBe('80,95');
    expect(parseConfigValue('FORECAST_INTERVAL_LEVELS', 'none')).toBe('');
    for (const bad of ['80,150', '0', '100', 'abc']) expect(() => parseConfigValue('FORECAST_INTERVAL_LEVELS', bad)).toThrow(/FORECAST_INTERVAL_LEVELS: .* refused/);
  });
  test('the window count must be at least 2', () => {
    expect(() => validateWindows(1)).toThrow(/--n-windows must be a whole number >= 2, got 1/);
    expect(validateWindows(3)).toBe(3);
  });
});

/**
 * Parity with statsforecast 2.1.x on real series (Superstore, US births) and edge cases.
 * Fixtures: scripts/parity/make_statsforecast_fixtures.py (regeneration steps at its top).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADIDA, IMAPA } from '../../../src/forecasting/models/adida';
import { CrostonClassic, CrostonOptimized, CrostonSBA } from '../../../src/forecasting/models/croston';
import { HistoricAverage, Naive, SeasonalNaive } from '../../../src/forecasting/models/naive';
import { SES, SESOptimized } from '../../../src/forecasting/models/ses';
import { Theta } from '../../../src/forecasting/models/theta';
import { TSB } from '../../../src/forecasting/models/tsb';
import type { Model } from '../../../src/forecasting/types';

interface Run {
  model: string;
  params: { seasonLength?: number; alpha?: number; alphaD?: number; alphaP?: number };
  forecast: (number | null)[];
  fitted?: (number | null)[];
}
interface Fixture {
  statsforecast: string;
  horizon: number;
  series: { id: string; start: string; freqDays: number; y: number[]; runs: Run[] }[];
}

const dir = join(__dirname, '../../fixtures/parity');
const files = readdirSync(dir).filter((f) => f.startsWith('statsforecast-') && f.endsWith('.json') && f !== 'statsforecast-intervals.json');

function build({ model, params: p }: Run): Model {
  switch (model) {
    case 'Naive': return new Naive();
    case 'SeasonalNaive': return new SeasonalNaive(p.seasonLength);
    case 'SES': return new SES(p.alpha);
    case 'SESOptimized': return new SESOptimized();
    case 'CrostonClassic': return new CrostonClassic();
    case 'CrostonSBA': return new CrostonSBA();
    case 'CrostonOptimized': return new CrostonOptimized();
    case 'TSB': return new TSB(p.alphaD, p.alphaP);
    case 'ADIDA': return new ADIDA();
    case 'IMAPA': return new IMAPA();
    case 'Theta': return new Theta(p.seasonLength);
    case 'HistoricAverage': return new HistoricAverage();
    default: throw new Error(`no such model in fixture: ${model}`);
  }
}

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

test('fixtures are present', () => {
  expect(files.length).toBeGreaterThanOrEqual(3);
});

for (const file of files) {
  const fx = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Fixture;
  describe(`${file} (statsforecast ${fx.statsforecast})`, () => {
    for (const s of fx.series) {
      test(s.id, () => {
        const series = { id: s.id, start: s.start, freqDays: s.freqDays, y: Float64Array.from(s.y) };
        const problems: string[] = [];
        for (const run of s.runs) {
          const label = `${run.model}${JSON.stringify(run.params)}`;
          const fit = build(run).fit(series);
          const f = mismatch(fit.forecast(fx.horizon), run.forecast);
          if (f) problems.push(`${label} forecast ${f}`);
          if (run.fitted) {
            if (!fit.fitted) problems.push(`${label}: no fitted values`);
            else {
              const m = mismatch(fit.fitted, run.fitted);
              if (m) problems.push(`${label} fitted ${m}`);
            }
          }
        }
        expect(problems).toEqual([]);
      });
    }
  });
}

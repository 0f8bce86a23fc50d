/**
 * Fit speed of our Prophet vs Python Prophet on the same series, same machine, one run.
 *   node -r tsx/cjs bench/prophet.ts [--python /path/to/python3] [--repeats N]
 * Series: the parity fixtures (real US births and Superstore series, 3-4 years each).
 * The Python side needs `pip install prophet` (PROPHET_PYTHON or --python picks the interpreter).
 * Last line: {"prophetSeriesPerSecond", "pythonProphetSeriesPerSecond", "vsProphet"}.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Prophet } from '../src/forecasting/models/prophet';
import type { SeriesInput } from '../src/forecasting/types';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const python = arg('--python') ?? process.env.PROPHET_PYTHON ?? 'python3';
const pyRepeats = Number(arg('--repeats') ?? 3);
const dir = path.join(__dirname, '../test/fixtures/parity');
const raw = fs
  .readdirSync(dir)
  .filter((f) => f.startsWith('prophet-') && f.endsWith('.json') && f !== 'prophet-short-series.json')
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { name: string; start: string; freqDays: number; y: (number | null)[] });
const series: SeriesInput[] = raw.map((r) => ({ id: r.name, start: r.start, freqDays: r.freqDays, y: Float64Array.from(r.y, (v) => (v === null ? NaN : v)) }));

// Ours: warm up the JIT, then time whole passes over the series for at least ~2 s.
const model = new Prophet();
for (let i = 0; i < 3; i++) for (const s of series) model.fit(s);
let fits = 0;
const t0 = process.hrtime.bigint();
let elapsed = 0;
while (elapsed < 2) {
  for (const s of series) model.fit(s);
  fits += series.length;
  elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
}
const ours = fits / elapsed;
console.log(`ours: ${series.length} series (${series.map((s) => s.y.length).join(', ')} points), ${fits} fits in ${elapsed.toFixed(2)} s -> ${(1000 / ours).toFixed(2)} ms/fit`);

let theirs: number | null = null;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'prophet-bench-'));
try {
  const file = path.join(tmp, 'series.json');
  fs.writeFileSync(file, JSON.stringify(raw.map((r) => ({ start: r.start, freqDays: r.freqDays, y: r.y }))));
  const out = execFileSync(python, [path.join(__dirname, 'prophet_speed.py'), file, String(pyRepeats)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const res = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { meanFitSeconds: number; prophetVersion: string };
  theirs = 1 / res.meanFitSeconds;
  console.log(`python prophet ${res.prophetVersion}: ${(res.meanFitSeconds * 1000).toFixed(1)} ms/fit (${pyRepeats} passes)`);
} catch (e) {
  console.log(`python prophet not measured (${python}: ${(e as Error).message.split('\n')[0]})`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const ratio = theirs === null ? null : ours / theirs;
if (ratio !== null) console.log(`ours is ${ratio.toFixed(1)}x faster than Python Prophet's fit`);
console.log(JSON.stringify({ prophetSeriesPerSecond: +ours.toFixed(2), pythonProphetSeriesPerSecond: theirs === null ? null : +theirs.toFixed(2), vsProphet: ratio === null ? null : +ratio.toFixed(1) }));

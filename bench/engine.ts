/**
 * Forecasting-engine benchmark: series per second per model on one core, and peak memory, on a
 * 30,000-SKU synthetic daily catalogue (365-730 days); side by side with statsforecast (same data,
 * same run, one core) when python3 has it, and with Python Prophet when installed.
 *
 *   node --expose-gc -r tsx/cjs bench/engine.ts [--skus N] [--python-skus N] [--prophet-skus N]
 *
 * Speeds are series per CPU-second of the measuring process (ours: process.cpuUsage; Python:
 * time.process_time), so other load on the machine does not skew the ratios.
 * The last line printed is one JSON object: seriesPerSecond, vsStatsforecast (ours / theirs,
 * > 1 = we are faster, against StatsForecast(n_jobs=1).forecast), vsStatsforecastKernel (against
 * a bare loop of statsforecast's model.forecast), vsProphet, peakRssMiB, and `intervals`: the
 * engine's forecastSku with and without `levels: [80, 95]` (conformal, 2 windows: three fits
 * instead of one) per model, series per CPU-second side by side, plus the Ensemble combination.
 *
 *   [--interval-skus N] SKUs for the interval comparison (default 2000; Prophet and Ensemble use
 *   --prophet-skus)
 *   [--class-skus N] SKUs class-best's table is chosen on (default 1000; CPU seconds), then
 *   class-best with that table served with --level 80,95 vs Prophet on --prophet-skus SKUs
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forecastSku } from '../src/forecasting/engine';
import { createModel } from '../src/forecasting/models';
import { chooseClassModels, classModelLabel } from '../src/forecasting/select';
import { generateCatalogue, type SyntheticSeries } from '../src/forecasting/synthetic';
import type { ModelName } from '../src/forecasting/types';

const H = 7;
const STATS_MODELS: ModelName[] = [
  'Naive', 'SeasonalNaive', 'SES', 'SESOptimized', 'CrostonClassic', 'CrostonSBA', 'CrostonOptimized', 'TSB', 'ADIDA', 'IMAPA',
];

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

let peakRss = process.memoryUsage().rss;
const sampleRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const log = (s: string): void => console.log(s);
/** CPU seconds of this process since t0: a shared, busy machine slows wall time, not this. */
const cpuSeconds = (t0: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
};

function timeModel(name: ModelName, cat: SyntheticSeries[]): number {
  const model = createModel(name);
  let sink = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < cat.length; i++) {
    sink += model.fit(cat[i]).forecast(H)[0];
    if ((i & 1023) === 0) sampleRss();
  }
  const secs = cpuSeconds(t0);
  if (Number.isNaN(sink)) log(`  (note: ${name} produced NaN forecasts)`);
  return cat.length / secs;
}

function python(args: string[], timeoutMs: number, exe = 'python3'): string | null {
  const r = spawnSync(exe, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0 || r.error) return null;
  return r.stdout.trim().split('\n').pop() ?? null;
}

const hasPython = (mod: string, exe = 'python3'): boolean => spawnSync(exe, ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;

async function main(): Promise<void> {
  const skus = arg('skus', 30_000);
  const pySkus = arg('python-skus', skus);
  const prophetSkus = arg('prophet-skus', 300);
  log(`generating ${skus} SKUs (seed 42, 365-730 days)...`);
  let t0 = performance.now();
  const cat = [...generateCatalogue({ skus, seed: 42 })];
  const points = cat.reduce((s, x) => s + x.y.length, 0);
  log(`  ${points.toLocaleString()} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  sampleRss();

  const ours: Record<string, number> = {};
  for (const m of STATS_MODELS) {
    gc();
    timeModel(m, cat.slice(0, 200)); // warm-up (JIT)
    ours[m] = timeModel(m, cat);
    log(`  ours ${m}: ${Math.round(ours[m]).toLocaleString()} series/s`);
  }
  // Theta: ours only (bench/statsforecast_speed.py times the models above), on the first 5,000 SKUs
  const thetaSub = cat.slice(0, 5000);
  gc();
  timeModel('Theta', thetaSub.slice(0, 200));
  ours.Theta = timeModel('Theta', thetaSub);
  log(`  ours Theta (${thetaSub.length} SKUs): ${Math.round(ours.Theta).toLocaleString()} series/s`);
  const prophetFile = join(__dirname, '../src/forecasting/models/prophet.ts');
  if (existsSync(prophetFile)) {
    const sub = cat.slice(0, prophetSkus);
    timeModel('Prophet', sub.slice(0, 100)); // Prophet needs a longer JIT warm-up
    ours.Prophet = timeModel('Prophet', sub);
    log(`  ours Prophet (${sub.length} SKUs): ${ours.Prophet.toFixed(1)} series/s`);
    timeModel('Ensemble', sub.slice(0, 100));
    ours.Ensemble = timeModel('Ensemble', sub);
    log(`  ours Ensemble (median of 5 incl. Prophet, ${sub.length} SKUs): ${ours.Ensemble.toFixed(1)} series/s`);
  }

  // cost of prediction intervals: the served path (forecastSku) without and with --level 80,95
  const intervalSkus = arg('interval-skus', 2000);
  const intervals: Record<string, { none: number; levels: number; ratio: number }> = {};
  const served = (model: ModelName, sub: SyntheticSeries[], levels?: number[]): number => {
    let sink = 0;
    const t = process.cpuUsage();
    for (const s of sub) sink += forecastSku(s, { horizon: H, model, levels }).forecast[0];
    if (Number.isNaN(sink)) log(`  (note: ${model} produced NaN forecasts)`);
    return sub.length / cpuSeconds(t);
  };
  for (const m of ['SESOptimized', 'CrostonSBA', 'TSB', 'IMAPA', 'Theta', 'Prophet', 'Ensemble'] as ModelName[]) {
    const sub = cat.slice(0, m === 'Prophet' || m === 'Ensemble' ? prophetSkus : intervalSkus);
    gc();
    served(m, sub.slice(0, 100), [80, 95]); // warm-up (JIT)
    const none = served(m, sub);
    const levels = served(m, sub, [80, 95]);
    intervals[m] = { none, levels, ratio: none / levels };
    log(`  ${m} forecastSku (${sub.length} SKUs): ${none.toFixed(0)} series/s without levels, ${levels.toFixed(0)} with --level 80,95 (${(none / levels).toFixed(2)}x the time)`);
  }

  // class-best: choosing the class table (what a class-best backtest does on at most 3,000 SKUs)
  // and serving with it, intervals included, vs Prophet for every SKU
  const classSkus = arg('class-skus', 1000);
  const classSub = cat.slice(0, classSkus);
  gc();
  const tc = process.cpuUsage();
  const table = chooseClassModels(classSub, { horizon: H });
  const chooseSeconds = cpuSeconds(tc);
  const classModels = Object.fromEntries(Object.entries(table).map(([k, c]) => [k, c.chosen]));
  const servedPolicy = (sub: SyntheticSeries[], opts: Parameters<typeof forecastSku>[1]): number => {
    const t = process.cpuUsage();
    for (const s of sub) forecastSku(s, opts);
    return sub.length / cpuSeconds(t);
  };
  const psub = cat.slice(0, prophetSkus);
  const classBest = servedPolicy(psub, { horizon: H, selection: { policy: 'class-best', classModels }, levels: [80, 95] });
  const prophetAll = servedPolicy(psub, { horizon: H, model: 'Prophet', levels: [80, 95] });
  const classPolicy = {
    skus: classSkus,
    chooseCpuSeconds: chooseSeconds,
    table: Object.fromEntries(Object.entries(table).filter(([, c]) => c.pairs > 0).map(([k, c]) => [k, classModelLabel(c.chosen)])),
    servedWithLevels: classBest,
    prophetWithLevels: prophetAll,
  };
  log(`  class-best: table chosen on ${classSkus} SKUs in ${chooseSeconds.toFixed(1)} CPU-s (${JSON.stringify(classPolicy.table)}); served with --level 80,95: ${classBest.toFixed(0)} series/s vs Prophet ${prophetAll.toFixed(0)}`);

  // statsforecast on the same data, same run
  const vsStatsforecast: Record<string, number | null> = {};
  const vsKernel: Record<string, number | null> = {};
  const theirs: Record<string, { seriesPerSecond: number; kernelSeriesPerSecond: number }> = {};
  let sfVersion: string | null = null;
  if (hasPython('statsforecast')) {
    const dir = mkdtempSync(join(tmpdir(), 'engine-bench-'));
    try {
      const sub = cat.slice(0, pySkus);
      const total = sub.reduce((s, x) => s + x.y.length, 0);
      const y = new Float64Array(total);
      const lengths = new Int32Array(sub.length);
      let off = 0;
      sub.forEach((s, i) => {
        y.set(s.y, off);
        off += s.y.length;
        lengths[i] = s.y.length;
      });
      writeFileSync(join(dir, 'y.f64'), Buffer.from(y.buffer));
      writeFileSync(join(dir, 'lengths.i32'), Buffer.from(lengths.buffer));
      log(`statsforecast on the first ${sub.length} SKUs (one core)...`);
      t0 = performance.now();
      const out = python([join(__dirname, 'statsforecast_speed.py'), join(dir, 'y.f64'), join(dir, 'lengths.i32'), String(H), ...STATS_MODELS], 3_600_000);
      log(`  done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      if (out) {
        const parsed = JSON.parse(out) as Record<string, unknown>;
        sfVersion = String(parsed._version);
        for (const m of STATS_MODELS) {
          const r = parsed[m] as { seriesPerSecond: number; kernelSeriesPerSecond: number } | undefined;
          if (!r) continue;
          theirs[m] = r;
          vsStatsforecast[m] = ours[m] / r.seriesPerSecond;
          vsKernel[m] = ours[m] / r.kernelSeriesPerSecond;
        }
      } else log('  statsforecast run failed; vsStatsforecast left empty');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else log('python3 statsforecast not found; vsStatsforecast left empty');

  let vsProphet: number | null = null;
  const prophetScript = join(__dirname, 'prophet_speed.py');
  const prophetPython = process.env.PROPHET_PYTHON ?? 'python3'; // an interpreter with prophet
  if (ours.Prophet !== undefined && existsSync(prophetScript) && hasPython('prophet', prophetPython)) {
    const dir = mkdtempSync(join(tmpdir(), 'engine-bench-'));
    try {
      const few = cat.slice(0, 5).map((s) => ({ start: s.start, freqDays: s.freqDays, y: Array.from(s.y) }));
      writeFileSync(join(dir, 'series.json'), JSON.stringify(few));
      log(`Python Prophet (${prophetPython}) on 5 SKUs...`);
      const out = python([prophetScript, join(dir, 'series.json'), '1'], 1_800_000, prophetPython);
      const mean = out ? (JSON.parse(out) as { meanFitSeconds?: number }).meanFitSeconds : undefined;
      if (mean) vsProphet = ours.Prophet * mean;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else log('Python Prophet (or bench/prophet_speed.py, or our Prophet) not available; vsProphet = null');
  sampleRss();

  const pad = (s: string, n: number): string => s.padStart(n);
  log('');
  log(`${'model'.padEnd(18)}${pad('ours/s', 12)}${pad('sf/s', 12)}${pad('sf-kernel/s', 13)}${pad('vs sf', 8)}${pad('vs kernel', 11)}`);
  for (const m of Object.keys(ours)) {
    const t = theirs[m];
    const f = (x: number | null | undefined, d = 0): string => (x == null ? '-' : x.toLocaleString(undefined, { maximumFractionDigits: d, minimumFractionDigits: d }));
    log(`${m.padEnd(18)}${pad(f(ours[m], ours[m] < 100 ? 1 : 0), 12)}${pad(f(t?.seriesPerSecond), 12)}${pad(f(t?.kernelSeriesPerSecond), 13)}${pad(f(vsStatsforecast[m], 1), 8)}${pad(f(vsKernel[m], 1), 11)}`);
  }
  const peakRssMiB = Math.round(peakRss / 1048576);
  log('');
  log(`${'intervals'.padEnd(18)}${pad('none/s', 12)}${pad('80,95/s', 12)}${pad('cost', 8)}`);
  for (const [m, r] of Object.entries(intervals)) log(`${m.padEnd(18)}${pad(r.none.toFixed(0), 12)}${pad(r.levels.toFixed(0), 12)}${pad(`${r.ratio.toFixed(2)}x`, 8)}`);
  log(`peak RSS ${peakRssMiB} MiB; ${skus} SKUs, horizon ${H}, statsforecast ${sfVersion ?? 'n/a'}, vsProphet ${vsProphet === null ? 'null' : vsProphet.toFixed(1)}`);
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const round = (o: Record<string, number | null>): Record<string, number | null> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === null ? null : r2(v)]));
  log(JSON.stringify({
    skus,
    horizon: H,
    seriesPerSecond: Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, v < 100 ? r2(v) : Math.round(v)])),
    vsStatsforecast: round(vsStatsforecast),
    vsStatsforecastKernel: round(vsKernel),
    statsforecastSkus: sfVersion ? pySkus : 0,
    statsforecastVersion: sfVersion,
    vsProphet: vsProphet === null ? null : r2(vsProphet),
    intervals: Object.fromEntries(Object.entries(intervals).map(([k, r]) => [k, { none: Math.round(r.none), levels: Math.round(r.levels), ratio: r2(r.ratio) }])),
    classBest: { ...classPolicy, chooseCpuSeconds: r2(classPolicy.chooseCpuSeconds), servedWithLevels: Math.round(classBest), prophetWithLevels: Math.round(prophetAll) },
    peakRssMiB,
  }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

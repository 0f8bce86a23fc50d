/**
 * Accuracy evidence: every single model and every selection policy backtested (rolling origin)
 * on the generated catalogue, Sample Superstore at several levels and US births, with WAPE,
 * RMSSE, the plan's MAPE, outlier count and conformal coverage at 80/95. Prints one markdown
 * table per data set and, last, one JSON line with every figure.
 *
 *   node -r tsx/cjs scripts/parity/accuracy.ts --superstore <superstore.csv> --births <births data.csv>
 *     [--skus 700] [--only name,...] [--models A,B] [--policies p,q] [--n-windows 2] [--class-singles]
 *
 * The two CSVs come from the same npm packages as the parity fixtures (see the steps at the top of
 * make_statsforecast_fixtures.py).
 */
import { readFileSync } from 'node:fs';
import { backtestCatalogue, type BacktestSummary, type CatalogueOptions } from '../../src/forecasting/backtest';
import { isoToDay, dayToIso } from '../../src/forecasting/dates';
import { classModelLabel, SELECTION_POLICIES, type SelectionPolicy } from '../../src/forecasting/select';
import { generateCatalogue } from '../../src/forecasting/synthetic';
import { MODEL_NAMES, type ModelName, type SeriesInput } from '../../src/forecasting/types';
import type { ModelParams } from '../../src/forecasting/models';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

interface DataSet {
  name: string;
  series: SeriesInput[];
  horizon: number;
  windows: number;
}

/** Quote-aware split of one CSV line. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '', q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

interface Line { day: number; product: string; sub: string; cat: string; region: string; qty: number }

function superstoreLines(path: string): Line[] {
  const rows = readFileSync(path, 'utf8').trim().split('\n');
  const head = splitCsv(rows[0]);
  const col = (n: string) => head.indexOf(n);
  const [d, p, s, c, r, qn] = ['Order Date', 'Product ID', 'Sub-Category', 'Category', 'Region', 'Quantity'].map(col);
  return rows.slice(1).map((l) => {
    const f = splitCsv(l);
    return { day: isoToDay(f[d]), product: f[p], sub: f[s], cat: f[c], region: f[r], qty: Number(f[qn]) };
  });
}

/** Sums of qty per key over regular buckets of `freq` days from `start` (zeros where none). */
function bucket(lines: Line[], key: (l: Line) => string, start: number, end: number, freq: number, id: string): SeriesInput[] {
  const n = Math.floor((end - start) / freq) + 1;
  const map = new Map<string, Float64Array>();
  for (const l of lines) {
    if (l.day < start || l.day > end) continue;
    const k = key(l);
    let y = map.get(k);
    if (!y) map.set(k, (y = new Float64Array(n)));
    y[Math.floor((l.day - start) / freq)] += l.qty;
  }
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, y]) => ({ id: `${id}/${k}`, start: dayToIso(start), freqDays: freq, y }));
}

function superstore(path: string): DataSet[] {
  const lines = superstoreLines(path);
  const first = Math.min(...lines.map((l) => l.day));
  const last = Math.max(...lines.map((l) => l.day));
  const monday = first - ((((first + 3) % 7) + 7) % 7); // 1970-01-01 was a Thursday
  const end = monday + Math.floor((last - monday + 1) / 7) * 7 - 1; // last full week
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l.product, (counts.get(l.product) ?? 0) + 1);
  const top = new Set([...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 300).map(([p]) => p));
  return [
    { name: 'superstore weekly category x region (12)', series: bucket(lines, (l) => `${l.cat}/${l.region}`, monday, end, 7, 'w'), horizon: 8, windows: 3 },
    { name: 'superstore weekly sub-category x region (68)', series: bucket(lines, (l) => `${l.sub}/${l.region}`, monday, end, 7, 'w'), horizon: 8, windows: 3 },
    { name: 'superstore weekly top-300 products', series: bucket(lines.filter((l) => top.has(l.product)), (l) => l.product, monday, end, 7, 'w'), horizon: 8, windows: 3 },
    { name: 'superstore daily sub-category, last 2 years (17)', series: bucket(lines, (l) => l.sub, last - 729, last, 1, 'd'), horizon: 14, windows: 3 },
  ];
}

function births(path: string): DataSet[] {
  const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const day = (r: number[]) => isoToDay(`${r[0]}-${String(r[1]).padStart(2, '0')}-${String(r[2]).padStart(2, '0')}`);
  const days = rows.map(day);
  const y = Float64Array.from(rows, (r) => r[4]);
  const start = days[0];
  // daily: the last 3 years; weekly: every full Monday-Sunday week
  const n = 3 * 365;
  const daily: SeriesInput = { id: 'us-births/daily', start: dayToIso(start + y.length - n), freqDays: 1, y: y.slice(y.length - n) };
  const monday = start + ((7 - ((((start + 3) % 7) + 7) % 7)) % 7);
  const weeks = Math.floor((y.length - (monday - start)) / 7);
  const wy = new Float64Array(weeks);
  for (let i = 0; i < weeks * 7; i++) wy[Math.floor(i / 7)] += y[monday - start + i];
  const weekly: SeriesInput = { id: 'us-births/weekly', start: dayToIso(monday), freqDays: 7, y: wy };
  return [
    { name: 'US births daily, last 3 years (1 series, 12 windows)', series: [daily], horizon: 14, windows: 12 },
    { name: 'US births weekly 2000-2014 (1 series, 12 windows)', series: [weekly], horizon: 8, windows: 12 },
  ];
}

interface Row { name: string; s: BacktestSummary }

const LEVELS = [80, 95];
const pct = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const r3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '-');

async function run(ds: DataSet, runs: { name: string; opts: Partial<CatalogueOptions> }[]): Promise<Row[]> {
  const out: Row[] = [];
  for (const r of runs) {
    const nWindows = Number(arg('n-windows') ?? 2);
    const res = await backtestCatalogue(ds.series, { horizon: ds.horizon, windows: ds.windows, levels: LEVELS, nWindows, keepSkus: false, ...r.opts });
    out.push({ name: r.name, s: res.summary });
  }
  return out;
}

function table(ds: DataSet, rows: Row[]): string {
  const lines = [
    `### ${ds.name}: h = ${ds.horizon}, ${ds.windows} windows, ${rows[0]?.s.skus ?? 0} series`,
    '',
    '| model / policy | WAPE % | RMSSE | plan MAPE % | outliers (MAPE > 25) | horizon-total error % | coverage 80 | coverage 95 |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const singles = rows.filter((r) => !r.name.startsWith('policy ') && !r.name.startsWith('Ensemble('));
  const bestW = Math.min(...singles.map((r) => r.s.wape));
  const bestR = Math.min(...singles.map((r) => r.s.rmsse));
  for (const { name, s } of rows) {
    const w = s.wape === bestW ? `**${pct(s.wape)}**` : pct(s.wape);
    const rm = s.rmsse === bestR ? `**${r3(s.rmsse)}**` : r3(s.rmsse);
    lines.push(`| ${name} | ${w} | ${rm} | ${pct(s.mape)} | ${s.outlierCount} | ${pct(s.totalWape)} | ${pct(s.coverage['80'])} | ${pct(s.coverage['95'])} |`);
  }
  for (const { name, s } of rows) {
    if (!s.classChoices) continue;
    const t = Object.entries(s.classChoices).filter(([, c]) => c.pairs > 0).map(([k, c]) => `${k} ${classModelLabel(c.chosen)} (${c.pairs} pairs)`);
    lines.push('', `${name} table: ${t.join(', ')}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const sets: DataSet[] = [{ name: `generated catalogue (seed 42, ${arg('skus') ?? 700} SKUs x 365-730 days)`, series: [...generateCatalogue({ skus: Number(arg('skus') ?? 700), seed: 42 })], horizon: 7, windows: 3 }];
  const ss = arg('superstore');
  if (ss) sets.push(...superstore(ss));
  const b = arg('births');
  if (b) sets.push(...births(b));
  const only = arg('only')?.split(',');
  const models = (arg('models')?.split(',') ?? MODEL_NAMES) as ModelName[];
  const policies = (arg('policies')?.split(',') ?? SELECTION_POLICIES) as SelectionPolicy[];
  const extra: { name: string; opts: Partial<CatalogueOptions> }[] = [];
  // experiments: --ensembles "A+B+C:mean;D+E:median"
  for (const spec of arg('ensembles')?.split(';') ?? []) {
    const [m, combine] = spec.split(':');
    const params: ModelParams = { members: m.split('+') as ModelName[], combine: (combine ?? 'mean') as 'mean' | 'median' };
    extra.push({ name: `Ensemble(${spec})`, opts: { model: 'Ensemble', params } });
  }
  // class-best as it was before combinations, to show what they add: --class-singles
  if (arg('class-singles') !== undefined || process.argv.includes('--class-singles')) {
    extra.push({ name: 'policy class-best, single models only', opts: { selection: { policy: 'class-best' }, classSelection: { combinationSizes: [], growEnsemble: false } } });
  }
  const runs = [
    ...models.map((m) => ({ name: m, opts: { model: m } })),
    ...extra,
    ...policies.map((p) => ({ name: `policy ${p}`, opts: { selection: { policy: p } } })),
  ];
  const all: Record<string, Record<string, BacktestSummary>> = {};
  for (const ds of sets) {
    if (only && !only.some((o) => ds.name.includes(o))) continue;
    const t0 = performance.now();
    const rows = await run(ds, runs);
    console.log(`${table(ds, rows)}\n\n(${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    all[ds.name] = Object.fromEntries(rows.map((r) => [r.name, r.s]));
  }
  console.log(JSON.stringify(all));
}

void main();

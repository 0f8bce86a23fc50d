import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import {
  DEFAULT_CONFORMAL_WINDOWS,
  forecastSku,
  futureDates,
  parseLevels,
  readSeriesCsv,
  validateModelName,
  validateWindows,
  type ModelParams,
} from '../../forecasting';

export interface ForecastFileOptions {
  input: string;
  model: string;
  horizon: number;
  seasonLength?: number;
  alpha?: number;
  alphaD?: number;
  alphaP?: number;
  /** --level, repeatable or comma-separated: conformal prediction intervals. */
  level?: (string | number)[];
  nWindows?: number;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * `neuro forecast file`: forecasts every SKU of a long CSV with one model, offline, and writes
 * `unique_id,ds,<model>` rows continuing each SKU's frequency; with --level, also statsforecast's
 * `<model>-lo-<level>`, `<model>-hi-<level>` columns (conformal intervals, --n-windows windows,
 * default 2). Every SKU is checked before the first row is written, so a bad SKU leaves no
 * partial output.
 */
export async function runForecastFile(opts: ForecastFileOptions, out: NodeJS.WritableStream): Promise<void> {
  const model = validateModelName('(all)', opts.model);
  const levels = parseLevels(opts.level ?? [], '--level');
  const nWindows = validateWindows(opts.nWindows ?? DEFAULT_CONFORMAL_WINDOWS, '--n-windows');
  const params: ModelParams = { seasonLength: opts.seasonLength, alpha: opts.alpha, alphaD: opts.alphaD, alphaP: opts.alphaP };
  const series = await readSeriesCsv(createReadStream(opts.input), opts.input);
  const results = series.map((s) => ({ s, r: forecastSku(s, { horizon: opts.horizon, model, params, levels, nWindows }) }));
  // statsforecast's column order: lo from the widest level in, then hi outwards
  const cols = [...[...levels].reverse().map((l) => ({ name: `${model}-lo-${l}`, k: levels.indexOf(l), lo: true })), ...levels.map((l, k) => ({ name: `${model}-hi-${l}`, k, lo: false }))];
  await write(out, `unique_id,ds,${model}${cols.map((c) => `,${c.name}`).join('')}\n`);
  for (const { s, r } of results) {
    const dates = futureDates(s, opts.horizon);
    const f = r.forecast;
    let chunk = '';
    for (let i = 0; i < f.length; i++) {
      chunk += `${csvCell(s.id)},${dates[i]},${f[i]}`;
      for (const c of cols) chunk += `,${(c.lo ? r.intervals![c.k].lo : r.intervals![c.k].hi)[i]}`;
      chunk += '\n';
    }
    await write(out, chunk);
  }
}

export function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

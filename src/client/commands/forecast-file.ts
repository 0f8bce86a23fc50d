import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { forecastSku, futureDates, readSeriesCsv, validateModelName, type ModelParams } from '../../forecasting';

export interface ForecastFileOptions {
  input: string;
  model: string;
  horizon: number;
  seasonLength?: number;
  alpha?: number;
  alphaD?: number;
  alphaP?: number;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * `neuro forecast file`: forecasts every SKU of a long CSV with one model, offline, and writes
 * `unique_id,ds,<model>` rows continuing each SKU's frequency. Every SKU is checked before the
 * first row is written, so a bad SKU leaves no partial output.
 */
export async function runForecastFile(opts: ForecastFileOptions, out: NodeJS.WritableStream): Promise<void> {
  const model = validateModelName('(all)', opts.model);
  const params: ModelParams = { seasonLength: opts.seasonLength, alpha: opts.alpha, alphaD: opts.alphaD, alphaP: opts.alphaP };
  const series = await readSeriesCsv(createReadStream(opts.input), opts.input);
  const results = series.map((s) => ({ s, f: forecastSku(s, { horizon: opts.horizon, model, params }).forecast }));
  await write(out, `unique_id,ds,${model}\n`);
  for (const { s, f } of results) {
    const dates = futureDates(s, opts.horizon);
    let chunk = '';
    for (let i = 0; i < f.length; i++) chunk += `${csvCell(s.id)},${dates[i]},${f[i]}\n`;
    await write(out, chunk);
  }
}

export function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import {
  backtestCatalogue,
  ForecastInputError,
  readSeriesCsv,
  SELECTION_POLICIES,
  validateModelName,
  type BacktestOptions,
  type SelectionPolicy,
} from '../../forecasting';
import { csvCell } from './forecast-file';

export interface BacktestCliOptions {
  input: string;
  horizon: number;
  windows: number;
  step?: number;
  policy?: string;
  model?: string;
  format: 'json' | 'csv' | string;
  outlierThreshold?: number;
  seasonLength?: number;
}

/** NaN/Infinity -> null, others rounded to 4 decimals for readable output. */
const num = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * `neuro backtest --input F.csv`: offline rolling-origin backtest of every SKU of a long CSV, with
 * one model or a selection policy (default plan). JSON: {policy|model, summary, skus}; CSV: one
 * row per SKU (id,class,model,mape,wape,mase,outlier).
 */
export async function runBacktestCli(opts: BacktestCliOptions, out: NodeJS.WritableStream): Promise<void> {
  if (opts.format !== 'json' && opts.format !== 'csv') throw new Error(`--format must be json or csv, got "${opts.format}"`);
  if (opts.model !== undefined && opts.policy !== undefined) throw new Error('give --model or --policy, not both');
  const model = opts.model !== undefined ? validateModelName('(all)', opts.model) : undefined;
  const policy = opts.policy ?? 'plan';
  if (!(SELECTION_POLICIES as readonly string[]).includes(policy)) {
    throw new ForecastInputError('(all)', `unknown policy "${policy}" (known: ${SELECTION_POLICIES.join(', ')})`);
  }
  const series = await readSeriesCsv(createReadStream(opts.input), opts.input);
  const bt: BacktestOptions = {
    horizon: opts.horizon,
    windows: opts.windows,
    step: opts.step,
    model,
    selection: { policy: policy as SelectionPolicy },
    seasonLength: opts.seasonLength,
    outlierThreshold: opts.outlierThreshold,
  };
  const res = await backtestCatalogue(series, bt);
  const s = res.summary;
  if (opts.format === 'csv') {
    let text = 'unique_id,class,model,mape,wape,mase,outlier\n';
    for (const r of res.skus) text += `${csvCell(r.id)},${r.demandClass},${r.model},${num(r.mape) ?? ''},${num(r.wape) ?? ''},${num(r.mase) ?? ''},${r.outlier}\n`;
    await write(out, text);
    return;
  }
  const doc = {
    ...(model ? { model } : { policy }),
    horizon: opts.horizon,
    windows: opts.windows,
    summary: {
      skus: s.skus,
      mape: num(s.mape),
      wape: num(s.wape),
      mase: num(s.mase),
      outlierCount: s.outlierCount,
      avgOutlierMape: num(s.avgOutlierMape),
      outlierThreshold: s.outlierThreshold,
      models: s.models,
      skipped: res.skippedSkus,
    },
    skus: res.skus.map((r) => ({ id: r.id, class: r.demandClass, model: r.model, mape: num(r.mape), wape: num(r.wape), mase: num(r.mase), outlier: r.outlier })),
  };
  await write(out, `${JSON.stringify(doc, null, 2)}\n`);
}

import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import {
  backtestCatalogue,
  DEFAULT_CONFORMAL_WINDOWS,
  ForecastInputError,
  OUTLIER_METRICS,
  parseLevels,
  readSeriesCsv,
  SELECTION_POLICIES,
  validateModelName,
  validateWindows,
  type BacktestOptions,
  type OutlierMetric,
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
  outlierMetric?: string;
  seasonLength?: number;
  /** --level, repeatable or comma-separated: score conformal intervals (coverage, pinball). */
  level?: (string | number)[];
  nWindows?: number;
}

/** NaN/Infinity -> null, others rounded to 4 decimals for readable output. */
const num = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

const mapNum = (o: Record<string, number>): Record<string, number | null> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, num(v)]));

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/**
 * `neuro backtest --input F.csv`: offline rolling-origin backtest of every SKU of a long CSV, with
 * one model or a selection policy (default plan). JSON: {policy|model, summary, skus}; CSV: one
 * row per SKU (id,class,model,mape,wape,mase,rmsse,total_wape,outlier, then coverage_<level>).
 */
export async function runBacktestCli(opts: BacktestCliOptions, out: NodeJS.WritableStream): Promise<void> {
  if (opts.format !== 'json' && opts.format !== 'csv') throw new Error(`--format must be json or csv, got "${opts.format}"`);
  if (opts.model !== undefined && opts.policy !== undefined) throw new Error('give --model or --policy, not both');
  const model = opts.model !== undefined ? validateModelName('(all)', opts.model) : undefined;
  const policy = opts.policy ?? 'plan';
  if (!(SELECTION_POLICIES as readonly string[]).includes(policy)) {
    throw new ForecastInputError('(all)', `unknown policy "${policy}" (known: ${SELECTION_POLICIES.join(', ')})`);
  }
  const outlierMetric = opts.outlierMetric ?? 'mape';
  if (!(OUTLIER_METRICS as readonly string[]).includes(outlierMetric)) throw new Error(`--outlier-metric must be one of ${OUTLIER_METRICS.join(', ')}, got "${outlierMetric}"`);
  const levels = parseLevels(opts.level ?? [], '--level');
  const nWindows = validateWindows(opts.nWindows ?? DEFAULT_CONFORMAL_WINDOWS, '--n-windows');
  const series = await readSeriesCsv(createReadStream(opts.input), opts.input);
  const bt: BacktestOptions = {
    horizon: opts.horizon,
    windows: opts.windows,
    step: opts.step,
    model,
    selection: { policy: policy as SelectionPolicy },
    seasonLength: opts.seasonLength,
    outlierThreshold: opts.outlierThreshold,
    outlierMetric: outlierMetric as OutlierMetric,
    levels,
    nWindows,
  };
  const res = await backtestCatalogue(series, bt);
  const s = res.summary;
  if (opts.format === 'csv') {
    let text = `unique_id,class,model,mape,wape,mase,rmsse,total_wape,outlier${levels.map((l) => `,coverage_${l}`).join('')}\n`;
    for (const r of res.skus) {
      const cells = [r.mape, r.wape, r.mase, r.rmsse, r.totalWape].map((x) => num(x) ?? '').join(',');
      text += `${csvCell(r.id)},${r.demandClass},${r.model},${cells},${r.outlier}${levels.map((l) => `,${num(r.coverage[String(l)]) ?? ''}`).join('')}\n`;
    }
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
      rmsse: num(s.rmsse),
      totalWape: num(s.totalWape),
      outlierMetric: s.outlierMetric,
      outlierThreshold: s.outlierThreshold,
      outlierCount: s.outlierCount,
      avgOutlierMape: num(s.avgOutlierMape),
      avgOutlierValue: num(s.avgOutlierValue),
      ...(levels.length ? { nWindows, coverage: mapNum(s.coverage), spl: num(s.spl) } : {}),
      ...(s.classChoices ? { classChoices: s.classChoices } : {}),
      models: s.models,
      skipped: res.skippedSkus,
    },
    skus: res.skus.map((r) => ({
      id: r.id, class: r.demandClass, model: r.model, mape: num(r.mape), wape: num(r.wape), mase: num(r.mase), rmsse: num(r.rmsse),
      totalWape: num(r.totalWape), ...(levels.length ? { coverage: mapNum(r.coverage), spl: num(r.spl) } : {}), outlier: r.outlier,
    })),
  };
  await write(out, `${JSON.stringify(doc, null, 2)}\n`);
}

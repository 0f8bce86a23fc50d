import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { backtest, BacktestResult } from '../../workflows/backtest';
import { backtestProgressQuery } from '../../workflows/messages';
import { formatMs, ProgressBar } from '../progress';
import { connectTemporal } from '../services';
import { startBacktest } from '../starters';

export type { BacktestInput, BacktestResult } from '../../workflows/backtest';

/** Draws the backtest's progress until it closes; returns its summary. */
export async function followBacktest(handle: WorkflowHandle<typeof backtest>, bar = new ProgressBar({ label: 'backtest' })): Promise<BacktestResult> {
  let closed = false;
  const result = handle.result().finally(() => (closed = true));
  result.catch(() => undefined);
  const polling = (async () => {
    while (!closed) {
      const p = await handle.query(backtestProgressQuery).catch(() => undefined);
      if (p) bar.update(p.batchesDone, p.batchesTotal, `batch ${p.batchesDone}/${p.batchesTotal}, ${p.skusDone}/${p.skusTotal} SKUs`);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    return await result;
  } finally {
    bar.finish();
    await polling;
  }
}

export function formatBacktestSummary(r: BacktestResult): string[] {
  const pct = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}%`);
  const models = Object.entries(r.modelCounts).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ');
  return [
    `backtest ${r.backtestId}: ${r.skus} SKUs (${r.skipped} too short), ${r.windows} windows of ${r.horizon} days, in ${formatMs(r.durationMs)}`,
    `MAPE ${pct(r.mape)} (mean per SKU), WAPE ${pct(r.wape)}, MASE ${r.mase === null ? '-' : r.mase.toFixed(3)}`,
    `outliers (MAPE > ${r.outlierThreshold}%): ${r.outlierCount}${r.outliers.length ? ` — ${r.outliers.slice(0, 8).map((o) => `${o.sku} ${o.mape.toFixed(1)}% (${o.model})`).join(', ')}` : ''}`,
    `models: ${models}`,
    ...(r.classTable
      ? [`class table ${r.classTable.tableId} (${r.classTable.skus} SKUs), used by the next class-best runs: ${Object.entries(r.classTable.classes).map(([c, m]) => `${c} ${m}`).join(', ')}`]
      : []),
  ];
}

export interface BacktestWorkflowOptions {
  env: string;
  horizon?: number;
  windows?: number;
  step?: number;
  policy?: string;
  model?: string;
  outlierThreshold?: number;
  format?: string;
  wait?: boolean;
}

/** `neuro backtest --env E [--wait]` (no --input): the backtest workflow on the database histories. */
export async function backtestWorkflowCommand(opts: BacktestWorkflowOptions): Promise<void> {
  const { client, close } = await connectTemporal();
  try {
    const handle = await startBacktest(client, {
      environment: opts.env,
      horizon: opts.horizon,
      windows: opts.windows,
      step: opts.step,
      policy: opts.policy,
      model: opts.model,
      outlierThreshold: opts.outlierThreshold,
    });
    process.stderr.write(`started backtest ${handle.workflowId}\n`);
    if (!opts.wait) return;
    const r = await followBacktest(handle).catch((err) => {
      throw err instanceof WorkflowFailedError && err.cause ? new Error(err.cause.message) : err;
    });
    if (opts.format === 'json') console.log(JSON.stringify(r));
    else for (const line of formatBacktestSummary(r)) console.log(line);
  } finally {
    await close();
  }
}

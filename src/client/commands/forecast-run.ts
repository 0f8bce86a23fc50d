import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { forecastRun, ForecastRunResult } from '../../workflows/forecast-run';
import { progressQuery, type ForecastRunProgress } from '../../workflows/messages';
import { formatMs, ProgressBar } from '../progress';
import { connectTemporal, readDevState } from '../services';
import { startForecastRun } from '../starters';

export type { ForecastRunInput, ForecastRunResult } from '../../workflows/forecast-run';

export function describeProgress(p: ForecastRunProgress): string {
  const parts = [`batch ${p.batchesDone}/${p.batchesTotal}`, `${p.skusDone}/${p.skusTotal} SKUs`];
  if (p.batchesTotal > 1) parts.push(`delay ${p.currentDelayMs} ms`);
  if (p.status !== 'running') parts.push(p.status);
  else if (p.etaMs !== null) parts.push(`ETA ${formatMs(p.etaMs)}`);
  return parts.join(', ');
}

/**
 * Polls the run's `progress` query and draws a bar until the workflow closes; returns its result.
 * onProgress sees every answer (the demo prints its own lines).
 */
export async function followForecastRun(
  handle: WorkflowHandle<typeof forecastRun>,
  opts: { bar?: ProgressBar; intervalMs?: number; onProgress?: (p: ForecastRunProgress) => void } = {},
): Promise<ForecastRunResult> {
  const bar = opts.bar ?? new ProgressBar({ label: 'forecastRun' });
  let closed = false;
  const result = handle.result().finally(() => {
    closed = true;
  });
  result.catch(() => undefined); // observed below
  const poll = async () => {
    while (!closed) {
      try {
        const p = await handle.query(progressQuery);
        opts.onProgress?.(p);
        bar.update(p.batchesDone, p.batchesTotal, describeProgress(p));
      } catch {
        // The query fails before the first workflow task and after close: keep waiting for the result.
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
    }
  };
  const polling = poll();
  try {
    const r = await result;
    bar.update(r.batches, r.batches, `batch ${r.batches}/${r.batches}, ${r.skus}/${r.skus} SKUs, done`);
    return r;
  } finally {
    bar.finish();
    await polling;
  }
}

export function formatRunSummary(r: ForecastRunResult): string[] {
  const pct = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}%`);
  const models = Object.entries(r.modelCounts)
    .sort((a, b) => b[1] - a[1])
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  const preload = r.preload === null ? 'skipped' : 'keys' in r.preload ? `${r.preload.keys} keys in ${formatMs(r.preload.durationMs)}` : `FAILED: ${r.preload.error}`;
  return [
    `run ${r.runId} (${r.environment}, ${r.runDate}): ${r.skus} SKUs in ${r.batches} batches of ${r.batchSize}, horizon ${r.horizon} days, policy ${r.policy}`,
    `duration ${formatMs(r.durationMs)} (delays ${formatMs(r.totalDelayMs)} over ${r.gaps} gaps, last delay ${r.batchDelayMs} ms), whole run ${formatMs(r.totalMs)}`,
    `peak memory ${r.peakMemoryPct.toFixed(2)}% (worker RSS ${r.peakRssMb.toFixed(0)} MiB)`,
    `models: ${models}`,
    `cache preload: ${preload}`,
    `accuracy (${r.accuracySource}): MAPE ${pct(r.mape)}, WAPE ${pct(r.wape)}, outliers ${r.outlierCount}${r.outlierSkus.length ? ` (${r.outlierSkus.slice(0, 8).join(', ')}${r.outlierSkus.length > 8 ? ', ...' : ''})` : ''}`,
  ];
}

export interface ForecastRunOptions {
  env: string;
  wait?: boolean;
  date?: string;
  batchSize?: number;
  delayMs?: number;
  policy?: string;
  skus?: string;
  shadow?: string;
}

/** `neuro forecast run --env E [--wait]`. */
export async function forecastRunCommand(opts: ForecastRunOptions): Promise<void> {
  const skus = opts.skus
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const { client, close } = await connectTemporal();
  try {
    const handle = await startForecastRun(client, {
      environment: opts.env,
      runDate: opts.date,
      batchSize: opts.batchSize,
      delayMs: opts.delayMs,
      policy: opts.policy,
      skus,
      ...(opts.shadow ? { shadow: opts.shadow } : {}),
      trigger: 'cli',
    });
    console.log(`started forecastRun ${handle.workflowId}`);
    const ui = readDevState()?.uiUrl;
    if (ui) console.log(`Web UI: ${ui}/namespaces/${client.options.namespace}/workflows/${handle.workflowId}`);
    if (!opts.wait) return;
    const result = await followForecastRun(handle).catch((err) => {
      // Show the cause ("batchSize: 0 refused: ..."), not just "Workflow execution failed".
      throw err instanceof WorkflowFailedError && err.cause ? new Error(`${handle.workflowId} failed: ${err.cause.message}`) : err;
    });
    for (const line of formatRunSummary(result)) console.log(line);
  } finally {
    await close();
  }
}

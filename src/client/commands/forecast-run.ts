import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { infraFromEnv, parseEnvironment } from '../../config/schema';
import type { forecastRun, ForecastRunInput, ForecastRunResult } from '../../workflows/forecast-run';
import { progressQuery, type ForecastRunProgress } from '../../workflows/messages';
import { ENVIRONMENT, RUN_DATE, STATUS, TRIGGER } from '../../workflows/search-attributes';
import { formatMs, ProgressBar } from '../progress';
import { connectTemporal, readDevState } from '../services';

export type { ForecastRunInput, ForecastRunResult } from '../../workflows/forecast-run';

export const todayUtc = (): string => new Date().toISOString().slice(0, 10);

/**
 * Starts a forecastRun: the one entry point for the CLI, the API's trigger-forecast route, rollouts
 * and the demo. The environment and run date are checked here so a typo fails before anything
 * starts; the workflow validates the rest. Workflow id: forecast-<env>-<runDate>-<8 hex>.
 */
export async function startForecastRun(
  client: Client,
  input: ForecastRunInput,
  taskQueue: string = infraFromEnv().taskQueue,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof forecastRun>> {
  const environment = parseEnvironment(input.environment);
  const runDate = input.runDate ?? todayUtc();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(runDate) || Number.isNaN(Date.parse(`${runDate}T00:00:00Z`))) {
    throw new Error(`run date must be YYYY-MM-DD, got "${runDate}"`);
  }
  const trigger = input.trigger ?? 'manual';
  return client.workflow.start<typeof forecastRun>('forecastRun', {
    taskQueue,
    workflowId: `forecast-${environment}-${runDate}-${randomUUID().slice(0, 8)}`,
    args: [{ ...input, environment, runDate, trigger }],
    typedSearchAttributes: [
      { key: ENVIRONMENT, value: environment },
      { key: RUN_DATE, value: runDate },
      { key: STATUS, value: 'running' },
      { key: TRIGGER, value: trigger },
    ],
    memo: { trigger, environment, runDate },
    // What the Web UI's workflow list and header show.
    staticSummary: `forecast ${environment} ${runDate} (${trigger})`,
    staticDetails: forecastRunDetails(input),
  });
}

/** The run's settings in one markdown line: what differs from the environment's configuration. */
export function forecastRunDetails(input: ForecastRunInput): string {
  const o = [
    input.batchSize !== undefined && `batch size ${input.batchSize}`,
    input.delayMs !== undefined && `batch delay ${input.delayMs} ms`,
    input.horizon !== undefined && `horizon ${input.horizon} days`,
    input.policy && `policy ${input.policy}`,
    input.maxParallel !== undefined && `${input.maxParallel} batches at once`,
    input.skus && `${input.skus.length} SKUs`,
    input.preload === false && 'no cache preload',
    input.accuracy && input.accuracy !== 'backtest' && `accuracy: ${input.accuracy}`,
  ].filter(Boolean);
  return o.length ? `Overrides: ${o.join(', ')}; the rest from the environment's configuration.` : "Settings from the environment's configuration (STREAMING_BATCH_DELAY_MS read before each gap).";
}

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

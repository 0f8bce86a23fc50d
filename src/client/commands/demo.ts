import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { forecastKey } from '../../cache/forecasts';
import { getEnvironmentConfig } from '../../db/config-store';
import { catalogueExtent, catalogueSkuIds, generateIntoDatabase, startDateFor } from '../../db/catalogue';
import { addDays } from '../../forecasting/dates';
import { migrate } from '../../db/migrate';
import { buildWorkflowBundle, createWorker, installRuntimeLogger, type NeuroWorker } from '../../workers/worker';
import type { BacktestResult } from '../../workflows/backtest';
import type { ForecastRunResult } from '../../workflows/forecast-run';
import { formatMs, ProgressBar } from '../progress';
import { readDevState, startServices, STATE_DIR, type Services } from '../services';
import { formatBacktestSummary } from './backtest-run';
import { cycleDemoSteps } from './demo-cycle';
import { todayUtc } from '../../forecasting/dates';
import { startForecastRun } from '../starters';
import { followForecastRun, formatRunSummary } from './forecast-run';

/**
 * `npm run demo`: the main job end to end on embedded defaults. It is a list of named steps over a
 * shared context, so more steps (schedules, prefetch, a rollout rehearsal) slot in with
 * `defaultDemoSteps()` + splice, and `runDemo(opts, steps)`.
 */

export interface DemoOptions {
  json?: boolean;
  skus: number;
  days: number;
  fresh?: boolean;
}

export interface DemoContext {
  opts: DemoOptions;
  log(line: string): void;
  /** Run date (UTC today); the catalogue ends the day before. */
  runDate: string;
  environment: 'production';
  services?: Services;
  worker?: NeuroWorker;
  /** SKU subset when the database holds more SKUs than the demo's catalogue. */
  skuSubset?: string[];
  catalogue?: { skus: number; days: number; rows: number | null; start: string; reused: boolean };
  forecastRun?: ForecastRunResult;
  backtest?: BacktestResult;
  webUi?: string;
  /** Everything the JSON line reports, by step. */
  report: Record<string, unknown>;
  /** Run in reverse order when the demo ends, however it ends. */
  cleanups: (() => Promise<void>)[];
}

export interface DemoStep {
  name: string;
  title: string;
  run(ctx: DemoContext): Promise<void>;
}

/** The plan's P1 target: 7 batches with the 300 ms delay. */
export const DEMO_BATCHES = 7;
export const DEMO_DELAY_MS = 300;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const servicesStep: DemoStep = {
  name: 'services',
  title: 'Start PostgreSQL, the cache and the Temporal dev server',
  async run(ctx) {
    if (ctx.opts.fresh) {
      if (readDevState()) throw new Error('--fresh: a `neuro dev` is running on the data in .neuro/; stop it first');
      for (const f of ['pgdata', 'temporal.db']) rmSync(join(STATE_DIR, f), { recursive: true, force: true });
      ctx.log('discarded earlier demo data in .neuro/');
    }
    // The Web UI on its usual port when that is free (the README's link), else next to the server's port.
    const uiPort = (await portIsFree(8233)) ? 8233 : undefined;
    const services = await startServices({ temporal: true, ui: true, uiPort, persist: true, log: ctx.log });
    ctx.services = services;
    ctx.cleanups.push(() => services.stop());
    for (const line of services.describe()) ctx.log(line);
    ctx.report.services = services.describe();
  },
};

const migrateStep: DemoStep = {
  name: 'migrate',
  title: 'Migrate the database',
  async run(ctx) {
    const r = await migrate(ctx.services!.pool);
    ctx.log(`schema up to date: ${r.applied.length} applied now, ${r.alreadyApplied.length} already applied`);
    ctx.report.migrate = r;
  },
};

const catalogueStep: DemoStep = {
  name: 'catalogue',
  title: 'Generate the SKU catalogue with daily sales history',
  async run(ctx) {
    const { pool } = ctx.services!;
    const { skus, days } = ctx.opts;
    const end = addDays(ctx.runDate, -1);
    const start = startDateFor(days, end);
    const have = await catalogueExtent(pool);
    const reused = have.skus === skus && have.first === start && have.last === end;
    let rows: number | null = null;
    if (reused) {
      ctx.log(`catalogue kept from an earlier run: ${skus} SKUs, ${start}..${end} (--fresh regenerates)`);
    } else {
      const bar = new ProgressBar({ label: 'generate' });
      const r = await generateIntoDatabase(pool, { skus, days, seed: 42, end }, (done, total) => bar.update(done, total, `${done}/${total} SKUs`));
      bar.finish();
      rows = r.rows;
      ctx.log(`generated ${r.skus} SKUs x ${days} days (${r.rows} sales rows, ${start}..${end})`);
    }
    const ids = await catalogueSkuIds(pool);
    const total = ids.length;
    if (total > skus) {
      // Earlier data holds more SKUs: forecast just this catalogue (the generator's ids are stable).
      ctx.skuSubset = ids.filter((id) => /^SKU-\d+$/.test(id));
      ctx.skuSubset = ctx.skuSubset.slice(0, skus);
      ctx.log(`the database holds ${total} SKUs; forecasting ${skus} of them`);
    }
    ctx.catalogue = { skus, days, rows, start, reused };
    ctx.report.catalogue = ctx.catalogue;
  },
};

const workerStep: DemoStep = {
  name: 'worker',
  title: 'Start a worker in this process',
  async run(ctx) {
    const s = ctx.services!;
    ctx.log('bundling the workflows (a few seconds)...');
    const connection = await NativeConnection.connect({ address: s.temporal!.address });
    const worker = await createWorker({
      connection,
      namespace: s.infra.temporalNamespace,
      taskQueue: s.infra.taskQueue,
      deps: { pool: s.pool, cache: s.cache },
      workflowBundle: await buildWorkflowBundle(),
    });
    const running = worker.run();
    ctx.worker = worker;
    ctx.cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    });
    ctx.log(`worker polling task queue ${s.infra.taskQueue}`);
  },
};

const forecastRunStep: DemoStep = {
  name: 'forecast-run',
  title: `forecastRun: ${DEMO_BATCHES} batches, ${DEMO_DELAY_MS} ms durable delay, cache preload, backtest`,
  async run(ctx) {
    const s = ctx.services!;
    const client = s.temporal!.client;
    // The delay is passed as this run's override rather than written into production's config: the
    // demo shows P1's target without leaving a config change (and an audit row) behind in .neuro/.
    const batchSize = Math.ceil(ctx.opts.skus / DEMO_BATCHES);
    const handle = await startForecastRun(
      client,
      { environment: ctx.environment, runDate: ctx.runDate, batchSize, delayMs: DEMO_DELAY_MS, skus: ctx.skuSubset, trigger: 'demo' },
      s.infra.taskQueue,
    );
    ctx.log(`started ${handle.workflowId}: ${ctx.opts.skus} SKUs in batches of ${batchSize}`);
    let phase = '';
    const r = await followForecastRun(handle, {
      onProgress: (p) => {
        if (p.status !== phase && p.status !== 'running' && p.status !== 'listing') ctx.log(`  ${p.status}...`);
        phase = p.status;
      },
    });
    ctx.forecastRun = r;
    for (const line of formatRunSummary(r)) ctx.log(`  ${line}`);
    if (s.temporal!.uiUrl) ctx.webUi = `${s.temporal!.uiUrl}/namespaces/${s.infra.temporalNamespace}/workflows/${handle.workflowId}`;
    ctx.report.forecastRun = {
      workflowId: handle.workflowId,
      environment: r.environment,
      runDate: r.runDate,
      skus: r.skus,
      batches: r.batches,
      batchSize: r.batchSize,
      batchDelayMs: r.batchDelayMs,
      totalDelayMs: r.totalDelayMs,
      durationMs: r.durationMs,
      totalMs: r.totalMs,
      peakRssMb: r.peakRssMb,
      peakMemoryPct: r.peakMemoryPct,
      mape: r.mape,
      wape: r.wape,
      outlierCount: r.outlierCount,
      outlierSkus: r.outlierSkus,
      modelCounts: r.modelCounts,
      preload: r.preload,
    };
  },
};

const cacheStep: DemoStep = {
  name: 'cache',
  title: 'Check the preloaded cache',
  async run(ctx) {
    const s = ctx.services!;
    const r = ctx.forecastRun!;
    const horizon = (await getEnvironmentConfig(s.pool, ctx.environment)).FORECAST_HORIZON_DAYS;
    const sample = ctx.skuSubset?.[0] ?? (await catalogueSkuIds(s.pool))[0];
    const hit = await s.cache.get(forecastKey(ctx.environment, sample, horizon));
    const keys = r.preload && 'keys' in r.preload ? r.preload.keys : 0;
    ctx.log(`${keys} keys preloaded into the ${s.cache.kind} cache; ${sample}: ${hit ? 'cached' : 'NOT cached'}`);
    ctx.report.cache = { kind: s.cache.kind, keys, sample, sampleCached: Boolean(hit) };
  },
};

const backtestStep: DemoStep = {
  name: 'backtest',
  title: 'Backtest (the run\'s accuracy step): per-SKU accuracy and outliers',
  async run(ctx) {
    const s = ctx.services!;
    const handle = s.temporal!.client.workflow.getHandle(`${ctx.forecastRun!.runId}-backtest`);
    const bt = (await handle.result()) as BacktestResult;
    ctx.backtest = bt;
    for (const line of formatBacktestSummary(bt)) ctx.log(`  ${line}`);
    ctx.report.backtest = {
      workflowId: bt.backtestId,
      skus: bt.skus,
      windows: bt.windows,
      horizon: bt.horizon,
      mape: bt.mape,
      wape: bt.wape,
      mase: bt.mase,
      outlierCount: bt.outlierCount,
      outliers: bt.outliers,
      modelCounts: bt.modelCounts,
    };
  },
};

const summaryStep: DemoStep = {
  name: 'summary',
  title: 'Summary',
  async run(ctx) {
    const r = ctx.forecastRun!;
    const pct = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}%`);
    ctx.log(`  forecast duration ${formatMs(r.durationMs)} for ${r.skus} SKUs in ${r.batches} batches (${r.gaps} x ${r.batchDelayMs} ms durable delay)`);
    ctx.log(`  peak memory ${r.peakMemoryPct.toFixed(2)}% of the memory limit; MAPE ${pct(r.mape)}; outlier SKUs ${r.outlierCount}`);
    const rollout = ctx.report.rollout as { release: string; state: string } | undefined;
    if (rollout) ctx.log(`  rollout ${rollout.release}: ${rollout.state}; schedules forecast-daily, prefetch-morning-peak, prefetch-afternoon-peak in place`);
    type Ended = { release: string; state: string; rollback?: { automatic: boolean; reason: string } };
    const hybrid = ctx.report.hybrid as (Ended & { steps?: { name: string; state: string }[]; fallback?: Ended }) | undefined;
    const ended = (h: Ended) => `rollout ${h.release}: ${h.state}${h.rollback ? ` (${h.rollback.automatic ? 'automatic' : 'manual'}: ${h.rollback.reason})` : ''}`;
    if (hybrid) ctx.log(`  ${ended(hybrid)}; cohort steps ${hybrid.steps?.map((x) => `${x.name} ${x.state}`).join(', ')}`);
    if (hybrid?.fallback) ctx.log(`  ${ended(hybrid.fallback)}`);
    if (ctx.report.htmlReport) ctx.log(`  charts: file://${ctx.report.htmlReport}`);
    if (ctx.webUi) {
      ctx.log(`  Temporal Web UI: ${ctx.webUi}`);
      ctx.log('  (the dev server stops with the demo; its history stays in .neuro/ — `npx neuro dev` serves it again)');
    }
    ctx.report.webUi = ctx.webUi ?? null;
  },
};

export function defaultDemoSteps(): DemoStep[] {
  return [servicesStep, migrateStep, catalogueStep, workerStep, forecastRunStep, cacheStep, backtestStep, ...cycleDemoSteps, summaryStep];
}

export async function runDemo(opts: DemoOptions, steps: DemoStep[] = defaultDemoSteps()): Promise<DemoContext> {
  const ctx: DemoContext = {
    opts,
    log: (line) => console.log(line),
    runDate: todayUtc(),
    environment: 'production',
    report: {},
    cleanups: [],
  };
  const timings: { name: string; ms: number }[] = [];
  try {
    for (const [i, step] of steps.entries()) {
      ctx.log(`[${i + 1}/${steps.length}] ${step.title}`);
      const t0 = performance.now();
      await step.run(ctx);
      timings.push({ name: step.name, ms: Math.round(performance.now() - t0) });
    }
  } finally {
    for (const cleanup of ctx.cleanups.reverse()) await cleanup().catch((err) => ctx.log(`[cleanup] ${(err as Error).message}`));
  }
  ctx.report.steps = timings;
  return ctx;
}

export async function demoCommand(opts: DemoOptions): Promise<void> {
  installRuntimeLogger('WARN'); // the demo prints its own progress; the worker's INFO lines would drown it
  if (!existsSync(STATE_DIR) && opts.fresh) opts = { ...opts, fresh: false };
  const ctx = await runDemo(opts);
  if (opts.json) console.log(JSON.stringify(ctx.report));
}

/**
 * forecastRun overhead benchmark: the same catalogue through the `forecastRun` workflow (delay 0,
 * no preload, no accuracy step) and through the same batch activity called in a plain in-process
 * loop, at 1k, 10k and 30k SKUs (365 days of daily history each), side by side in one run.
 *
 *   npm run bench:forecast-run [-- --sizes 1000,10000,30000 --batch-size 1000 --days 365 --rounds 4]
 *
 * Starts its own PostgreSQL (initdb, like the tests) and Temporal dev server, and runs the worker
 * in this process. Each size runs --rounds (default 4) ABBA rounds (plain, workflow, workflow,
 * plain, ...: warm-up and cache effects favour neither) and compares the best run of each side,
 * since other load on a shared machine can only add time. The last line printed is one JSON object:
 * overheadRatio1k/10k/30k (workflow / plain wall time), seconds30k (workflow end to end, start to
 * result), peakRssMiB (this process: worker + workflow cache + activities), plus the history size.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { temporal } from '@temporalio/proto';
import { createForecastActivities, type ForecastBatchResult, type PreparedRun } from '../src/activities/forecast';
import { createMemoryCache } from '../src/cache';
import { startForecastRun } from '../src/client/starters';
import { startDevServer } from '../src/client/temporal-server';
import { writeSalesChunk, type SalesChunk } from '../src/db/catalogue';
import { addDays, markForecasted } from '../src/db/forecasts';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { generateCatalogue } from '../src/forecasting/synthetic';
import { buildWorkflowBundle, createWorker, installRuntimeLogger } from '../src/workers/worker';
import { startPostgres } from '../test/helpers/servers';

// The bench prints its own lines; the worker's INFO state changes would drown them.
installRuntimeLogger('WARN');

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SIZES = arg('sizes', '1000,10000,30000').split(',').map(Number);
const BATCH = Number(arg('batch-size', '1000'));
const DAYS = Number(arg('days', '365'));
const RUN_DATE = '2025-01-01';
const ENV = 'production';
const TASK_QUEUE = 'bench-forecast-run';
const ROUNDS = Number(arg('rounds', '4'));

let peakRss = process.memoryUsage.rss();
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 25);
rssTimer.unref();
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const MiB = 1024 * 1024;
const log = (s: string) => console.log(s);

const E = temporal.api.enums.v1.EventType;
const ms = (t: temporal.api.history.v1.IHistoryEvent['eventTime']) => Number(t!.seconds) * 1000 + (t!.nanos ?? 0) / 1e6;

/**
 * Where the workflow's extra time goes, from its history: per batch, the time from one batch's
 * completion to the next one's start on the worker (orchestration), and the activity's own run time.
 */
async function batchGaps(handle: { fetchHistory(): Promise<temporal.api.history.v1.IHistory> }): Promise<{ meanGapMs: number; meanActivityMs: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const started = new Map<number, number>();
  const spans: { start: number; end: number }[] = [];
  for (const e of events) {
    if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED) started.set(Number(e.activityTaskStartedEventAttributes!.scheduledEventId), ms(e.eventTime));
    if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const sid = Number(e.activityTaskCompletedEventAttributes!.scheduledEventId);
      const sched = events.find((x) => Number(x.eventId) === sid);
      if (sched?.activityTaskScheduledEventAttributes?.activityType?.name === 'forecastBatch') spans.push({ start: started.get(sid)!, end: ms(e.eventTime) });
    }
  }
  const gaps = spans.slice(1).map((s, i) => s.start - spans[i].end);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return { meanGapMs: +mean(gaps).toFixed(1), meanActivityMs: +mean(spans.map((s) => s.end - s.start)).toFixed(1) };
}

async function main(): Promise<void> {
  log(`forecastRun vs plain loop: sizes ${SIZES.join(', ')}, batch ${BATCH}, ${DAYS} days of history, delay 0, one worker`);
  const pg = await startPostgres();
  const server = await startDevServer({ log: () => undefined });
  const admin = new PgClient({ connectionString: pg.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const pool = createPool(pg.url.replace(/\/postgres$/, '/bench'), { max: 8 });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const cache = createMemoryCache();
  const deps = { pool, cache };
  const worker = await createWorker({ connection: native, namespace: 'default', taskQueue: TASK_QUEUE, deps, workflowBundle: await buildWorkflowBundle() });
  const running = worker.run();
  const activities = createForecastActivities(deps);
  const results: Record<string, unknown>[] = [];
  const out: Record<string, unknown> = { batchSize: BATCH, historyDays: DAYS, delayMs: 0, sizes: SIZES };
  try {
    await migrate(pool);
    let have = 0;
    for (const size of SIZES) {
      // Grow the catalogue to `size` SKUs: the generator's first SKUs are the same whatever its size.
      const t0 = performance.now();
      const start = addDays(RUN_DATE, -DAYS);
      let chunk: SalesChunk = { skus: [], rows: [] };
      let i = 0;
      for (const s of generateCatalogue({ skus: size, days: DAYS, seed: 42, start })) {
        if (i++ < have) continue;
        chunk.skus.push({ id: s.id, kind: s.kind });
        for (let d = 0; d < s.y.length; d++) chunk.rows.push({ sku: s.id, ds: addDays(start, d), qty: s.y[d] });
        if (chunk.rows.length >= 50_000) {
          await writeSalesChunk(pool, chunk);
          chunk = { skus: [], rows: [] };
        }
      }
      await writeSalesChunk(pool, chunk);
      have = size;
      await pool.query('VACUUM ANALYZE sales_history');
      log(`\n${size} SKUs: catalogue ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

      const plain = async (k: number) => {
        gc();
        const runId = `plain-${size}-${k}`;
        const env = new MockActivityEnvironment({ attempt: 1 });
        const t = performance.now();
        const p: PreparedRun = await env.run(activities.prepareForecastRun, { runId, environment: ENV, runDate: RUN_DATE, batchSize: BATCH, delayMs: 0 });
        let peakRssMb = 0;
        const modelCounts: Record<string, number> = {};
        for (let b = 0; b < p.batches; b++) {
          const r: ForecastBatchResult = await env.run(activities.forecastBatch, { runId, environment: ENV, runDate: RUN_DATE, batchIndex: b, horizon: p.horizon, selection: p.selection, memoryLimitMb: p.memoryLimitMb });
          peakRssMb = Math.max(peakRssMb, r.peakRssMb);
          for (const [m, n] of Object.entries(r.modelCounts)) modelCounts[m] = (modelCounts[m] ?? 0) + n;
        }
        await markForecasted(pool, ENV, runId, { forecastMs: performance.now() - t, totalDelayMs: 0, batchDelayMs: 0, peakRssMb, peakMemoryPct: 0, modelCounts });
        return (performance.now() - t) / 1000;
      };
      const viaWorkflow = async () => {
        gc();
        const t = performance.now();
        const handle = await startForecastRun(
          client,
          { environment: ENV, runDate: RUN_DATE, batchSize: BATCH, delayMs: 0, accuracy: 'none', preload: false, trigger: 'bench' },
          TASK_QUEUE,
        );
        const r = await handle.result();
        const seconds = (performance.now() - t) / 1000;
        const d = await handle.describe();
        return { seconds, r, events: d.historyLength, historyBytes: Number(d.raw.workflowExecutionInfo?.historySizeBytes ?? 0), gaps: await batchGaps(handle) };
      };

      // ABBA rounds; the best of each side is compared, since other load on a shared machine only adds time.
      const plainRuns: number[] = [];
      const wfRuns: Awaited<ReturnType<typeof viaWorkflow>>[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        if (round % 2) {
          plainRuns.push(await plain(round));
          wfRuns.push(await viaWorkflow());
        } else {
          wfRuns.push(await viaWorkflow());
          plainRuns.push(await plain(round));
        }
      }
      const plainS = Math.min(...plainRuns);
      const wfS = Math.min(...wfRuns.map((w) => w.seconds));
      const ratio = wfS / plainS;
      const w1 = wfRuns[0];
      const row = {
        skus: size,
        batches: w1.r.batches,
        plainSeconds: plainRuns.map((x) => +x.toFixed(2)),
        workflowSeconds: wfRuns.map((w) => +w.seconds.toFixed(2)),
        overheadRatio: +ratio.toFixed(3),
        workerPeakRssMiB: +Math.max(...wfRuns.map((w) => w.r.peakRssMb)).toFixed(0),
        historyEvents: w1.events,
        historyBytes: w1.historyBytes,
        meanGapBetweenBatchesMs: +(wfRuns.reduce((a, w) => a + w.gaps.meanGapMs, 0) / wfRuns.length).toFixed(1),
        meanBatchActivityMs: +(wfRuns.reduce((a, w) => a + w.gaps.meanActivityMs, 0) / wfRuns.length).toFixed(1),
      };
      results.push(row);
      log(`  plain loop  ${row.plainSeconds.map((x) => `${x.toFixed(2)} s`).join(', ')}`);
      log(`  forecastRun ${row.workflowSeconds.map((x) => `${x.toFixed(2)} s`).join(', ')}   (${row.batches} batches, ${row.historyEvents} history events, ${(row.historyBytes / 1024).toFixed(0)} KiB)`);
      log(`  between batches (completed -> next started, from history): ${row.meanGapBetweenBatchesMs} ms; batch activity ${row.meanBatchActivityMs} ms`);
      log(`  overhead ${ratio.toFixed(3)}x   worker peak RSS ${row.workerPeakRssMiB} MiB   models ${JSON.stringify(w1.r.modelCounts)}`);
      const tag = size >= 1000 && size % 1000 === 0 ? `${size / 1000}k` : String(size);
      out[`overheadRatio${tag}`] = row.overheadRatio;
      // End to end: the slowest workflow run, to be conservative.
      out[`seconds${tag}`] = +Math.max(...wfRuns.map((w) => w.seconds)).toFixed(2);
    }
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await native.close();
    await connection.close();
    await pool.end();
    await server.stop();
    await pg.stop();
  }
  out.peakRssMiB = +(peakRss / MiB).toFixed(0);
  out.results = results;
  log('');
  log(`peak RSS of this process (worker + plain loop): ${(peakRss / MiB).toFixed(0)} MiB; seconds<N> = the slowest workflow run`);
  log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

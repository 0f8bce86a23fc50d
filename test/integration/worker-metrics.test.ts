import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startForecastRun } from '../../src/client/starters';
import { parseBindAddress } from '../../src/workers/telemetry';
import { testTemporal, testTemporalAddress, testWorkflowBundle, type TestDatabase, type TestTemporal } from '../helpers/env';
import { RUN_DATE, catalogueDatabase } from './forecast-run.helpers';

/**
 * A worker process with WORKER_METRICS_ADDRESS: its /metrics shows the SDK's temporal_ metrics and
 * the application metrics of the forecast run it just did (runs by status, batches, GC, stability).
 */

const WORKER_SCRIPT = join(__dirname, '..', 'helpers', 'worker-process.ts');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

let db: TestDatabase;
let t: TestTemporal;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  db = await catalogueDatabase(60, 120);
  t = await testTemporal();
  dir = mkdtempSync(join(tmpdir(), 'neuro-metrics-'));
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await t?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('bind addresses: host:port, [v6]:port, :port; a bad one is refused by name', () => {
  expect(parseBindAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
  expect(parseBindAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
  expect(parseBindAddress(':9464')).toEqual({ host: '0.0.0.0', port: 9464 });
  expect(() => parseBindAddress('9464')).toThrow(/WORKER_METRICS_ADDRESS: "9464" refused/);
  expect(() => parseBindAddress('localhost:99999')).toThrow(/WORKER_METRICS_ADDRESS/);
});

test('the worker endpoint serves temporal_ SDK metrics and the application metrics', async () => {
  const bundleFile = join(dir, 'bundle.js');
  writeFileSync(bundleFile, (await testWorkflowBundle()).code);
  const address = `127.0.0.1:${await freePort()}`;
  child = spawn(process.execPath, ['-r', 'tsx/cjs', WORKER_SCRIPT], {
    env: { ...process.env, TEMPORAL_ADDRESS: testTemporalAddress(), DATABASE_URL: db.url, TASK_QUEUE: t.taskQueue, WORKFLOW_BUNDLE: bundleFile, WORKER_METRICS_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child!.stderr!.on('data', (d) => (err += d));
    child!.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    child!.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${err}`)));
  });
  const handle = await startForecastRun(
    t.client,
    { environment: 'staging', runDate: RUN_DATE, batchSize: 20, delayMs: 0, accuracy: 'none', preload: false },
    t.taskQueue,
  );
  await handle.result();

  const res = await fetch(`http://${address}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  // SDK (Core) metrics: workflow and activity task latencies of this worker
  expect(text).toMatch(/^temporal_workflow_task_execution_latency_bucket\{/m);
  expect(text).toMatch(/^temporal_activity_execution_latency_bucket\{.*activity_type="forecastBatch"/m);
  // application metrics of the run: 60 SKUs in 3 batches, one completed run
  expect(text).toMatch(/^neuro_forecast_runs_total\{environment="staging",status="completed"\} 1$/m);
  expect(text).toMatch(/^neuro_forecast_skus_total\{environment="staging"\} 60$/m);
  expect(text).toMatch(/^neuro_forecast_batch_duration_seconds_count\{environment="staging"\} 3$/m);
  expect(text).toMatch(/^neuro_forecast_run_duration_seconds_count\{environment="staging"\} 1$/m);
  expect(text).toMatch(/^neuro_stability_score\{environment="staging"\} 100$/m);
  expect(text).toMatch(/^neuro_incidents\{environment="staging"\} 0$/m);
  expect(text).toMatch(/^neuro_worker_process_resident_memory_bytes \d+/m);
  // the run's GC figures are stored with it
  const run = (await db.pool.query('SELECT gc_count, gc_total_ms, gc_max_ms, rss_samples FROM forecast_runs WHERE id = $1', [handle.workflowId])).rows[0];
  expect(run.gc_count).toEqual(expect.any(Number));
  expect(run.rss_samples).toHaveLength(3);
  expect(run.rss_samples[0]).toEqual({ batch: 0, startMb: expect.any(Number), peakMb: expect.any(Number), endMb: expect.any(Number) });

  expect((await fetch(`http://${address}/nope`)).status).toBe(404);
  child.kill('SIGTERM');
  await new Promise((r) => child!.once('exit', r));
});

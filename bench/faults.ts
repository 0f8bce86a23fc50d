/**
 * Run-level fault bench: a forecastRun (or a prefetch) on real services, a fault in the middle,
 * then what was lost or duplicated and how long it took to recover.
 *
 *   node -r tsx/cjs bench/faults.ts [-- --skus 600 --batch-size 50 --outage-s 10]
 *
 * Starts its own PostgreSQL (initdb), Redis and Temporal CLI dev server (with a database file, so
 * it can be SIGKILLed and restarted with its history), and workers as child processes
 * (test/helpers/worker-process.ts). Faults, one run each:
 *   pg-outage     PostgreSQL stopped for --outage-s mid-run, then started again
 *   temporal-kill the Temporal server SIGKILLed mid-run, restarted on the same database file
 *   worker-kill   the worker SIGKILLed while a batch runs, a new one started at once
 *   prefetch-kill the worker SIGKILLed mid-prefetch while another worker polls
 * lost = SKUs without their full horizon of forecasts (or prefetch keys not in the cache);
 * duplicated = forecast rows beyond the horizon plus SKUs cut into more than one batch.
 * recoveryS = from the fault's end (service back, or the kill) to the next batch recorded (for the
 * prefetch: to the retried activity's completion). The last line is one JSON object.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createRedisCache, forecastKey } from '../src/cache';
import { startForecastRun, startPrefetch } from '../src/client/starters';
import { ensureTemporalCli } from '../src/client/temporal-server';
import { generateIntoDatabase } from '../src/db/catalogue';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { buildWorkflowBundle } from '../src/workers/worker';
import { ALL_SEARCH_ATTRIBUTES } from '../src/workflows/search-attributes';
import { freePort, startPostgres, startRedis } from '../test/helpers/servers';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SKUS = Number(arg('skus', '600'));
const BATCH = Number(arg('batch-size', '50'));
const OUTAGE_MS = Number(arg('outage-s', '10')) * 1000;
const ONLY = arg('only', 'pg-outage,temporal-kill,worker-kill,prefetch-kill').split(',');
const HORIZON = 7;
const RUN_DATE = '2025-06-01';
const TASK_QUEUE = 'bench-faults';
const WORKER_SCRIPT = join(__dirname, '..', 'test', 'helpers', 'worker-process.ts');
const log = (s: string) => console.log(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const E = temporal.api.enums.v1;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 300_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The Temporal CLI dev server on a fixed port and database file: SIGKILL and start again keep its history. */
async function temporalServer(dir: string) {
  const port = await freePort();
  const args = ['server', 'start-dev', '--headless', '--port', String(port), '--db-filename', join(dir, 'temporal.db'), '--log-level', 'error'];
  for (const k of ALL_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${k.name}=Keyword`);
  const exe = ensureTemporalCli(log);
  if (exe.type !== 'existing-path') throw new Error('fault bench: needs the Temporal CLI binary (TEMPORAL_CLI_PATH or .tools/bin)');
  const cli = exe.path;
  let child: ChildProcess;
  const address = `127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
    child.once('exit', (code, signal) => signal !== 'SIGKILL' && log(`temporal server exited (${code ?? signal}): ${err.trim()}`));
    await waitFor('Temporal server', async () => {
      const c = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await c.withDeadline(Date.now() + 1000, () => c.workflowService.getSystemInfo({}));
      } finally {
        await c.close();
      }
      return true;
    }, 60_000);
  };
  await start();
  return {
    address,
    start,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function main(): Promise<void> {
  log(`fault bench: ${SKUS} SKUs in batches of ${BATCH}, horizon ${HORIZON}, PostgreSQL outage ${OUTAGE_MS / 1000} s`);
  const dir = mkdtempSync(join(tmpdir(), 'neuro-faults-'));
  const pg = await startPostgres();
  const redis = await startRedis();
  const server = await temporalServer(dir);
  const pool = createPool(pg.url, { connectionTimeoutMillis: 2000 });
  await migrate(pool);
  await generateIntoDatabase(pool, { skus: SKUS, days: 365, seed: 11, end: '2025-05-31' });
  const bundleFile = join(dir, 'bundle.js');
  writeFileSync(bundleFile, (await buildWorkflowBundle()).code);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const cache = await createRedisCache(redis.url, { keyPrefix: 'bench:', log: () => undefined });

  const workers = new Set<ChildProcess>();
  const startWorker = (env: Record<string, string> = {}) =>
    new Promise<ChildProcess>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', 'tsx/cjs', WORKER_SCRIPT], {
        env: { ...process.env, TEMPORAL_ADDRESS: server.address, DATABASE_URL: pg.url, TASK_QUEUE, WORKFLOW_BUNDLE: bundleFile, REDIS_URL: redis.url, REDIS_PREFIX: 'bench:', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      workers.add(child);
      const n = workers.size;
      let err = '';
      child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
      child.once('exit', (code, signal) => {
        workers.delete(child);
        if (signal !== 'SIGKILL' && signal !== 'SIGTERM' && code !== 0) log(`worker ${n} exited unexpectedly (${code ?? signal}): ${err.trim().split('\n').slice(-5).join(' | ')}`);
      });
      child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
      child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
  const kill = async (w: ChildProcess, signal: NodeJS.Signals) => {
    if (w.exitCode !== null || w.signalCode !== null) return;
    const exited = new Promise((r) => w.once('exit', r));
    w.kill(signal);
    await exited;
  };
  // Between faults nothing is in flight, and a worker whose server was restarted can take long to shut down.
  const stopWorkers = () => Promise.all([...workers].map((w) => kill(w, 'SIGKILL')));

  const batchesDone = async (runId: string) =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM forecast_batches WHERE run_id = $1', [runId])).rows[0].n;
  const batchRunning = async (runId: string) => {
    const d = await client.workflow.getHandle(runId).describe();
    return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'forecastBatch' && a.state === E.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
  };

  /** One forecastRun with a fault once a batch is recorded and the next one is running. */
  async function runWithFault(name: string, fault: (runId: string) => Promise<number>) {
    await startWorker();
    const handle = await startForecastRun(
      client,
      { environment: 'production', runDate: RUN_DATE, batchSize: BATCH, delayMs: 300, horizon: HORIZON, policy: 'plan', accuracy: 'none', preload: false },
      TASK_QUEUE,
    );
    const runId = handle.workflowId;
    const total = Math.ceil(SKUS / BATCH);
    await waitFor('a batch in flight after a finished one', async () => {
      const n = await batchesDone(runId);
      return n >= 1 && n < total - 2 && (await batchRunning(runId));
    });
    const before = await batchesDone(runId);
    const faultEnd = await fault(runId);
    // Progress resumed: the first batch recorded after the fault ended (server time of the row).
    const resumed = await waitFor('the next batch after the fault', async () => {
      const r = await pool.query<{ at: Date }>('SELECT min(finished_at) AS at FROM forecast_batches WHERE run_id = $1 AND finished_at > $2', [runId, new Date(faultEnd)]);
      return r.rows[0].at ?? undefined;
    });
    const result = await client.workflow.getHandle(runId).result();
    const perSku = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM forecasts WHERE run_id = $1 GROUP BY sku_id', [runId]);
    const cut = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT sku_id FROM batch_skus WHERE run_id = $1 GROUP BY sku_id HAVING count(*) > 1) x', [runId]);
    const lost = SKUS - perSku.rows.filter((r) => r.n >= HORIZON).length;
    const duplicated = perSku.rows.reduce((s, r) => s + Math.max(0, r.n - HORIZON), 0) + cut.rows[0].n;
    const recoveryS = +((resumed.getTime() - faultEnd) / 1000).toFixed(2);
    log(`${name.padEnd(14)} batches before the fault ${before}/${total}; run ${result.status}; lost ${lost}, duplicated ${duplicated}; progress resumed ${recoveryS} s after the fault ended`);
    await stopWorkers();
    return { lost, duplicated, recoveryS };
  }

  const out: Record<string, { lost: number; duplicated: number; recoveryS: number }> = {};
  try {
    if (ONLY.includes('pg-outage')) out.pgOutage = await runWithFault('pg-outage', async () => {
      await pg.halt();
      await sleep(OUTAGE_MS);
      await pg.restart();
      return Date.now();
    });
    if (ONLY.includes('temporal-kill')) out.temporalKill = await runWithFault('temporal-kill', async () => {
      await server.kill();
      await sleep(2000);
      await server.start();
      return Date.now();
    });
    if (ONLY.includes('worker-kill')) out.workerKill = await runWithFault('worker-kill', async () => {
      const [w] = [...workers];
      await kill(w, 'SIGKILL');
      const at = Date.now();
      await startWorker();
      return at;
    });

    if (ONLY.includes('prefetch-kill')) out.prefetchKill = await prefetchKill();
  } finally {
    log('cleaning up');
    await stopWorkers();
    await cache.close();
    await connection.close();
    await pool.end();
    await server.kill().catch(() => undefined);
    await redis.stop();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const lost = Object.values(out).reduce((s, f) => s + f.lost, 0);
  const duplicated = Object.values(out).reduce((s, f) => s + f.duplicated, 0);
  console.log(JSON.stringify({ skus: SKUS, batchSize: BATCH, outageS: OUTAGE_MS / 1000, lost, duplicated, faults: out }));
  process.exit(lost || duplicated ? 1 : 0);

  /** A prefetch whose worker is SIGKILLed mid-way while another worker polls. */
  async function prefetchKill() {
    // A current run (the last fault's, or one made now) and a query log asking for three non-default horizons.
    if (!(await pool.query('SELECT 1 FROM current_forecast_run WHERE environment = $1', ['production'])).rowCount) {
      await startWorker();
      const run = await startForecastRun(client, { environment: 'production', runDate: RUN_DATE, batchSize: BATCH, delayMs: 0, horizon: HORIZON, policy: 'plan', accuracy: 'none', preload: false }, TASK_QUEUE);
      await run.result();
      await stopWorkers();
    }
    const skus = (await pool.query<{ id: string }>('SELECT id FROM skus ORDER BY id')).rows.map((r) => r.id);
    const horizons = [14, 21, 28];
    await pool.query(
      `INSERT INTO query_log (environment, query_hash, query_pattern, sku_id, horizon, duration_ms, cache_hit)
       SELECT 'production', s || '|' || h, 'bench', s, h, 1, false FROM unnest($1::text[]) s, unnest($2::int[]) h`,
      [skus, horizons],
    );
    const slow = await startWorker({ CACHE_SET_DELAY_MS: '3000' });
    const handle = await startPrefetch(client, { environment: 'production', trigger: 'manual', topN: 20, includeRecent: false, patternSkus: skus.length }, TASK_QUEUE);
    await waitFor('the prefetch activity running', async () => {
      const d = await handle.describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'prefetchTopQueries' && a.state === E.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    });
    await startWorker();
    await sleep(1000);
    await kill(slow, 'SIGKILL');
    const killedAt = Date.now();
    const r = await handle.result();
    const resultS = +((Date.now() - killedAt) / 1000).toFixed(2);
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'prefetchTopQueries')!;
    const done = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(scheduled.eventId))!;
    const warmedAt = Number(done.eventTime!.seconds) * 1000 + (done.eventTime!.nanos ?? 0) / 1e6;
    const keys = skus.flatMap((s) => horizons.map((h) => forecastKey('production', s, h)));
    const lost = (await cache.mget(keys)).filter((v) => v === null).length;
    const recoveryS = +((warmedAt - killedAt) / 1000).toFixed(2);
    log(`prefetch-kill  prefetch ${r.status}; keys missing ${lost} of ${keys.length}; retry done warming ${recoveryS} s after the kill, workflow result ${resultS} s after`);
    await stopWorkers();
    return { lost, duplicated: 0, recoveryS };
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

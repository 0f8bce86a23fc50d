/**
 * M5-scale benchmark: 30,490 SKUs x 1,941 days of daily history (59M sales days), plan policy,
 * forecast three ways in one run, side by side: the batch activity in a plain in-process loop, and
 * `forecastRun` through Temporal with 1 and with 2 forecast worker processes (role forecast; the
 * workflow worker runs in this process).
 *
 *   npm run bench:m5 [-- --skus 30490 --days 1941 --batch-size 500 --max-parallel 8]
 *   npm run bench:m5 -- --skus 6000 --phases 1 --profile /tmp/m5-prof   # where a worker's CPU goes
 *
 * Starts its own PostgreSQL and Temporal dev server. Besides wall times it reports where the CPU
 * went (forecast workers, PostgreSQL, Temporal server, this process; from /proc) and each forecast
 * worker's peak RSS (VmHWM). Last line: one JSON object with m5Seconds1Worker, m5Seconds2Workers,
 * scaling2Workers (1-worker / 2-worker time), overheadRatioM5 (1 worker / plain loop, both one
 * process forecasting), peakRssMiBPerWorker, plainSeconds, the CPU split, cpuOverheadRatioM5 and
 * m5SecondsFloor2Cores (the 2-worker run's CPU seconds / 2: what two idle cores could at best do).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
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

installRuntimeLogger('WARN');

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SKUS = Number(arg('skus', '30490'));
const DAYS = Number(arg('days', '1941'));
const BATCH = Number(arg('batch-size', '500'));
const MAX_PARALLEL = Number(arg('max-parallel', '8'));
const POLICY = 'plan';
const PHASES = arg('phases', 'plain,1,2').split(',');
const PROFILE_DIR = arg('profile', '');
const RUN_DATE = '2016-06-20'; // the day after M5's last day of history
const ENV = 'production';
const TASK_QUEUE = 'bench-m5';
const WORKER_SCRIPT = join(__dirname, '..', 'test', 'helpers', 'worker-process.ts');
const log = (s: string) => console.log(s);
const CLK_TCK = 100; // USER_HZ on Linux

/** CPU seconds (user + system, including reaped children) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(v[11]) + Number(v[12]) + Number(v[13]) + Number(v[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of a process and its live children (PostgreSQL backends, the Temporal server). */
function treeCpuSeconds(root: number): number {
  let total = cpuSeconds(root);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === root) total += cpuSeconds(Number(d));
    } catch {
      // gone
    }
  }
  return total;
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** The Temporal CLI dev server of this run: the `temporal` process started with its port. */
function devServerPids(address: string): number[] {
  const port = address.split(':').pop()!;
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return argv[0].endsWith('temporal') && argv.includes(port);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function startForecastWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const prof = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const child = spawn(process.execPath, [...prof, '-r', 'tsx/cjs', WORKER_SCRIPT], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`forecast worker exited (${code}) before it was ready`)));
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Self time of the forecast workers' CPU profiles by where the code lives, as shares of busy time. */
function profileShares(dir: string): Record<string, number> {
  const by: Record<string, number> = {};
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      nodes: { id: number; callFrame: { functionName: string; url: string } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const cat = new Map<number, string>();
    for (const n of p.nodes) {
      const { url, functionName } = n.callFrame;
      cat.set(
        n.id,
        functionName === '(idle)' ? 'idle'
          : functionName === '(garbage collector)' ? 'gc'
          : url.includes('/src/forecasting/') ? 'engine (src/forecasting)'
          : url.includes('/src/db/') ? 'history decode + SQL (src/db)'
          : url.includes('/src/activities/') ? 'activity loop (src/activities)'
          : url.includes('node_modules/pg') ? 'pg driver'
          : url.includes('@temporalio') ? 'Temporal SDK'
          : functionName === '(program)' ? 'native / program'
          : 'other',
      );
    }
    p.samples.forEach((id, i) => (by[cat.get(id)!] = (by[cat.get(id)!] ?? 0) + (p.timeDeltas[i] ?? 0)));
  }
  const busy = Object.entries(by).filter(([k]) => k !== 'idle').reduce((a, [, v]) => a + v, 0);
  return Object.fromEntries(Object.entries(by).filter(([k]) => k !== 'idle').sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +(v / busy).toFixed(3)]));
}

async function main(): Promise<void> {
  log(`M5 scale: ${SKUS} SKUs x ${DAYS} days (${((SKUS * DAYS) / 1e6).toFixed(1)}M sales days), batches of ${BATCH}, policy ${POLICY}, up to ${MAX_PARALLEL} batches in flight`);
  const pg = await startPostgres();
  const server = await startDevServer({ log: () => undefined });
  const admin = new PgClient({ connectionString: pg.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  const postmaster = Number(String((await admin.query(`SELECT pg_read_file('postmaster.pid') AS f`)).rows[0].f).split('\n')[0]);
  await admin.end();
  const dbUrl = pg.url.replace(/\/postgres$/, '/bench');
  const pool = createPool(dbUrl, { max: 8 });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const native = await NativeConnection.connect({ address: server.address });
  const bundle = await buildWorkflowBundle();
  const bundleFile = join(mkdtempSync(join(tmpdir(), 'neuro-m5-')), 'bundle.js');
  writeFileSync(bundleFile, bundle.code);
  const deps = { pool, cache: createMemoryCache() };
  const workflowWorker = await createWorker({ connection: native, namespace: 'default', taskQueue: TASK_QUEUE, deps, role: 'workflows', workflowBundle: bundle });
  const running = workflowWorker.run();
  const temporalPids = devServerPids(server.address);
  const workerEnv = { ...process.env, TEMPORAL_ADDRESS: server.address, DATABASE_URL: dbUrl, TASK_QUEUE, ROLE: 'forecast', WORKFLOW_BUNDLE: bundleFile };
  const out: Record<string, unknown> = { skus: SKUS, historyDays: DAYS, batchSize: BATCH, maxParallel: MAX_PARALLEL, policy: POLICY };
  try {
    await migrate(pool);
    const t0 = performance.now();
    const start = addDays(RUN_DATE, -DAYS);
    let chunk: SalesChunk = { skus: [], rows: [], series: [] };
    const writes: Promise<void>[] = [];
    for (const s of generateCatalogue({ skus: SKUS, days: DAYS, seed: 42, start })) {
      chunk.skus.push({ id: s.id, kind: s.kind });
      chunk.series!.push({ sku: s.id, start, y: s.y });
      if (chunk.skus.length >= 100) {
        writes.push(writeSalesChunk(pool, chunk));
        chunk = { skus: [], rows: [], series: [] };
        if (writes.length >= 4) await writes.shift();
      }
    }
    writes.push(writeSalesChunk(pool, chunk));
    await Promise.all(writes);
    await pool.query('VACUUM ANALYZE sales_history');
    log(`catalogue written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const cpuNow = () => ({
      postgres: treeCpuSeconds(postmaster),
      temporal: temporalPids.reduce((a, p) => a + treeCpuSeconds(p), 0),
      bench: cpuSeconds(process.pid),
    });

    // The plain loop: prepare + every batch activity in turn, in this process.
    const activities = createForecastActivities(deps);
    const plain = async () => {
      const runId = 'plain-m5';
      const env = new MockActivityEnvironment({ attempt: 1 });
      const c0 = cpuNow();
      const t = performance.now();
      const p: PreparedRun = await env.run(activities.prepareForecastRun, { runId, environment: ENV, runDate: RUN_DATE, batchSize: BATCH, delayMs: 0, policy: POLICY });
      let peakRssMb = 0;
      for (let b = 0; b < p.batches; b++) {
        const r: ForecastBatchResult = await env.run(activities.forecastBatch, { runId, environment: ENV, runDate: RUN_DATE, batchIndex: b, horizon: p.horizon, selection: p.selection, memoryLimitMb: p.memoryLimitMb });
        peakRssMb = Math.max(peakRssMb, r.peakRssMb);
      }
      await markForecasted(pool, ENV, runId, { forecastMs: performance.now() - t, totalDelayMs: 0, batchDelayMs: 0, peakRssMb, peakMemoryPct: 0, modelCounts: {} });
      const seconds = (performance.now() - t) / 1000;
      const c1 = cpuNow();
      return { seconds, peakRssMb, cpu: { bench: c1.bench - c0.bench, postgres: c1.postgres - c0.postgres } };
    };
    const viaTemporal = async (workers: number) => {
      const children: ChildProcess[] = [];
      for (let i = 0; i < workers; i++) children.push(await startForecastWorker(workerEnv));
      try {
        const c0 = cpuNow();
        const w0 = children.map((c) => cpuSeconds(c.pid!));
        const t = performance.now();
        const handle = await startForecastRun(
          client,
          { environment: ENV, runDate: RUN_DATE, batchSize: BATCH, delayMs: 0, policy: POLICY, maxParallel: MAX_PARALLEL, accuracy: 'none', preload: false, trigger: 'bench' },
          TASK_QUEUE,
        );
        const r = await handle.result();
        const seconds = (performance.now() - t) / 1000;
        const c1 = cpuNow();
        const perWorkerCpu = children.map((c, i) => +(cpuSeconds(c.pid!) - w0[i]).toFixed(1));
        const rss = children.map((c) => +peakRssMiB(c.pid!).toFixed(0));
        const perWorkerBatches = (
          await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM forecast_batches WHERE run_id = $1', [r.runId])
        ).rows[0].n;
        return {
          seconds,
          skus: r.skus,
          batches: r.batches,
          recordedBatches: perWorkerBatches,
          peakRssMiB: rss,
          cpu: { workers: perWorkerCpu, postgres: +(c1.postgres - c0.postgres).toFixed(1), temporal: +(c1.temporal - c0.temporal).toFixed(1), bench: +(c1.bench - c0.bench).toFixed(1) },
        };
      } finally {
        for (const c of children) await stopWorker(c);
      }
    };

    const show = (label: string, w: Awaited<ReturnType<typeof viaTemporal>>) =>
      log(`${label} ${w.seconds.toFixed(1)} s   ${w.batches} batches; CPU: workers ${w.cpu.workers.join(' + ')} s, PostgreSQL ${w.cpu.postgres} s, Temporal ${w.cpu.temporal} s, workflow worker ${w.cpu.bench} s; peak RSS ${w.peakRssMiB.join(', ')} MiB`);
    if (!PHASES.includes('plain') || !PHASES.includes('2')) {
      // A partial run (profiling): only what was asked, no comparison.
      if (PHASES.includes('plain')) log(`plain loop: ${(await plain()).seconds.toFixed(1)} s`);
      if (PHASES.includes('1')) show('forecastRun, 1 worker: ', await viaTemporal(1));
      if (PHASES.includes('2')) show('forecastRun, 2 workers:', await viaTemporal(2));
      if (PROFILE_DIR) log(`forecast worker CPU by code (self time, share of busy): ${JSON.stringify(profileShares(PROFILE_DIR))}`);
      return;
    }
    const p = await plain();
    log(`plain loop (in process):     ${p.seconds.toFixed(1)} s   CPU: this process ${p.cpu.bench.toFixed(1)} s, PostgreSQL ${p.cpu.postgres.toFixed(1)} s`);
    const w1 = await viaTemporal(1);
    show('forecastRun, 1 worker:      ', w1);
    const w2 = await viaTemporal(2);
    show('forecastRun, 2 workers:     ', w2);
    if (PROFILE_DIR) out.workerCpuByCode = profileShares(PROFILE_DIR);
    const wall2 = w2.seconds;
    const cpu2 = w2.cpu.workers.reduce((a, b) => a + b, 0) + w2.cpu.postgres + w2.cpu.temporal + w2.cpu.bench;
    Object.assign(out, {
      plainSeconds: +p.seconds.toFixed(2),
      m5Seconds1Worker: +w1.seconds.toFixed(2),
      m5Seconds2Workers: +w2.seconds.toFixed(2),
      scaling2Workers: +(w1.seconds / w2.seconds).toFixed(2),
      overheadRatioM5: +(w1.seconds / p.seconds).toFixed(3),
      peakRssMiBPerWorker: Math.max(...w1.peakRssMiB, ...w2.peakRssMiB),
      cpu1Worker: w1.cpu,
      cpu2Workers: w2.cpu,
      // Share of the machine's 2 cores the 2-worker run used (1.0 = both cores busy the whole time);
      // well below 1 means other load on a shared machine took the rest, and the wall times above with it.
      coreUtilisation2Workers: +(cpu2 / (2 * wall2)).toFixed(2),
      // The same comparisons in CPU seconds (every process of the stack), which other load does not inflate.
      cpuOverheadRatioM5: +((w1.cpu.workers[0] + w1.cpu.postgres + w1.cpu.temporal + w1.cpu.bench) / (p.cpu.bench + p.cpu.postgres)).toFixed(3),
      // What 2 dedicated cores could at best do with this much CPU work: the floor of m5Seconds2Workers.
      m5SecondsFloor2Cores: +(cpu2 / 2).toFixed(1),
      plainCpu: { bench: +p.cpu.bench.toFixed(1), postgres: +p.cpu.postgres.toFixed(1) },
    });
    log(JSON.stringify(out));
  } finally {
    workflowWorker.shutdown();
    await running.catch(() => undefined);
    await native.close();
    await connection.close();
    await pool.end();
    await server.stop();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

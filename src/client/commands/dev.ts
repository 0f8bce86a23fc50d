import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startApiServer } from '../../api/server';
import { createCache } from '../../cache';
import { infraFromEnv } from '../../config/schema';
import { installWorkerRuntime, serveWorkerMetrics, startWorkerTelemetry, type WorkerMetricsServer } from '../../workers/telemetry';
import { createWorker, type NeuroWorker, type WorkerRole } from '../../workers/worker';
import { ensureLocalRoster, LOCAL_KEYS_DIR } from '../local-roster';
import { ensureSearchAttributes } from '../temporal-server';
import { clearDevState, openDatabase, resolveInfra, startServices, writeDevState } from '../services';

/** Resolves when the process is asked to stop (Ctrl-C or SIGTERM). */
function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function runWorkerUntil(worker: NeuroWorker, stop: Promise<unknown>): Promise<void> {
  const running = worker.run();
  await Promise.race([stop, running]);
  worker.shutdown();
  await running;
}

/** `neuro dev`: dev server with Web UI, a worker and the API, all stopped together. */
export async function devCommand(opts: { port: number; uiPort: number; temporalPort: number }): Promise<void> {
  const log = (line: string) => console.log(line);
  const metricsAddress = infraFromEnv().workerMetricsAddress;
  if (metricsAddress) await installWorkerRuntime({ metricsAddress }); // before the dev server's first native connection
  const services = await startServices({ temporal: true, ui: true, uiPort: opts.uiPort, temporalPort: opts.temporalPort, persist: true, log });
  const stopSignal = untilStopSignal();
  let api: { url: string; close(): Promise<void> } | undefined;
  let native: NativeConnection | undefined;
  let metrics: WorkerMetricsServer | undefined;
  try {
    const temporal = services.temporal!;
    native = await NativeConnection.connect({ address: temporal.address });
    const worker = await createWorker({
      connection: native,
      namespace: services.infra.temporalNamespace,
      taskQueue: services.infra.taskQueue,
      deps: { pool: services.pool, cache: services.cache },
    });
    metrics = metricsAddress ? await serveWorkerMetrics({ address: metricsAddress, pool: services.pool }) : undefined;
    if (metrics) log(`Worker metrics: ${metrics.url}`);
    const server = await startApiServer({
      pool: services.pool,
      cache: services.cache,
      temporalClient: temporal.client,
      taskQueue: services.infra.taskQueue,
      adminToken: services.infra.adminToken,
      port: opts.port,
      log,
    });
    api = server;
    const apiUrl = server.url;
    writeDevState({
      pid: process.pid,
      databaseUrl: services.databaseUrl,
      temporalAddress: temporal.address,
      redisUrl: services.infra.redisUrl,
      uiUrl: temporal.uiUrl,
      apiUrl,
    });
    for (const line of services.describe()) log(line);
    if (!services.infra.databaseUrl) {
      // Embedded database: a local approvers roster so `neuro rollout` sign-offs can be signed at once.
      const roster = await ensureLocalRoster(services.pool);
      log(`Approvers: ${roster.approvers.map((a) => a.name).join(', ')}; keys in ${LOCAL_KEYS_DIR} (neuro rollout approve ... --by NAME --key ${LOCAL_KEYS_DIR}/NAME.pem)`);
    }
    log(`Worker: task queue ${services.infra.taskQueue}`);
    log(`API: ${apiUrl}  (GET /api/v1/forecasts/:sku, /metrics, /healthz)`);
    if (temporal.uiUrl) log(`Temporal Web UI: ${temporal.uiUrl}`);
    if (!services.infra.adminToken) log('ADMIN_TOKEN is not set: POST /api/v1/admin/trigger-forecast refuses every request');
    log('Ready. Other terminals: `npx neuro forecast run --wait`, `npx neuro schedules apply`. Ctrl-C stops everything.');
    await runWorkerUntil(worker, stopSignal);
  } finally {
    log('Stopping...');
    clearDevState();
    await api?.close().catch(() => undefined);
    await native?.close().catch(() => undefined);
    await metrics?.close();
    await services.stop();
    log('Stopped.');
  }
}

/** A server we did not start (docker compose, a cluster) may lack our search attributes. */
async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const added = await ensureSearchAttributes(connection, namespace);
    if (added.length) console.log(`Temporal: registered search attributes ${added.join(', ')}`);
  } finally {
    await connection.close();
  }
}

/**
 * `neuro worker`: one more worker process on a running server. In production it never falls back
 * silently: without DATABASE_URL (or a running `neuro dev` to share) it refuses, unless `--embedded`.
 */
export async function workerCommand(opts: { role: WorkerRole; embedded?: boolean }): Promise<void> {
  const infra = resolveInfra();
  if (!infra.temporalAddress) throw new Error('No Temporal server: set TEMPORAL_ADDRESS or start `neuro dev` first');
  if (!infra.databaseUrl && !opts.embedded) {
    throw new Error('No database: set DATABASE_URL (or start `neuro dev`, whose database workers share); `neuro worker --embedded` runs on a throwaway embedded PostgreSQL instead');
  }
  await registerSearchAttributes(infra.temporalAddress, infra.temporalNamespace);
  const db = await openDatabase(infra);
  const cache = await createCache(infra.redisUrl, { log: console.log });
  // WORKER_METRICS_ADDRESS: the SDK's and the application's Prometheus metrics (before the first native connection).
  const metrics = infra.workerMetricsAddress ? await startWorkerTelemetry({ metricsAddress: infra.workerMetricsAddress, pool: db.pool }) : undefined;
  if (metrics) console.log(`Worker metrics: ${metrics.url}`);
  const native = await NativeConnection.connect({ address: infra.temporalAddress });
  try {
    const worker = await createWorker({ connection: native, namespace: infra.temporalNamespace, taskQueue: infra.taskQueue, role: opts.role, deps: { pool: db.pool, cache } });
    console.log(`${db.description}\nWorker (${opts.role}) on ${infra.temporalAddress}, task queues ${worker.workers.map((w) => w.options.taskQueue).join(', ')}. Ctrl-C stops it.`);
    await runWorkerUntil(worker, untilStopSignal());
  } finally {
    await native.close();
    await metrics?.close();
    await cache.close();
    await db.stop();
  }
}

/** `neuro api`: the HTTP API alone (trigger-forecast needs a reachable Temporal server). */
export async function apiCommand(opts: { port: number; host: string }): Promise<void> {
  const infra = resolveInfra();
  const db = await openDatabase(infra);
  const cache = await createCache(infra.redisUrl, { log: console.log });
  const connection = infra.temporalAddress ? await Connection.connect({ address: infra.temporalAddress }) : undefined;
  try {
    const api = await startApiServer({
      pool: db.pool,
      cache,
      temporalClient: connection ? new Client({ connection, namespace: infra.temporalNamespace }) : undefined,
      taskQueue: infra.taskQueue,
      adminToken: infra.adminToken,
      port: opts.port,
      host: opts.host,
      log: console.log,
    });
    console.log(`${db.description}\nAPI on ${api.url}. Ctrl-C stops it.`);
    await untilStopSignal();
    await api.close();
  } finally {
    await connection?.close();
    await cache.close();
    await db.stop();
  }
}

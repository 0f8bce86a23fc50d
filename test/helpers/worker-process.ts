/**
 * A worker in its own process, for crash tests: the test SIGKILLs it mid-run and starts another.
 * Settings come from the environment: TEMPORAL_ADDRESS, DATABASE_URL, TASK_QUEUE, optional
 * TEMPORAL_NAMESPACE, WORKFLOW_BUNDLE (a file with pre-built bundle code, to skip bundling) and
 * MAX_ACTIVITIES (activity slots of each of its workers), ROLE (workflows, forecast or all, default all)
 * and WORKER_METRICS_ADDRESS (the Prometheus endpoint); for bench/recovery.ts also STICKY_TIMEOUT
 * (the sticky schedule-to-start timeout, e.g. 10s) and SDK_METRICS_PORT (the SDK's Prometheus
 * exporter on 127.0.0.1:PORT, when WORKER_METRICS_ADDRESS is unset).
 * Prints "ready" on stdout once it polls the task queue.
 */
import { readFileSync } from 'node:fs';
import type { Duration } from '@temporalio/common';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createMemoryCache } from '../../src/cache';
import { createPool } from '../../src/db/pool';
import { startWorkerTelemetry } from '../../src/workers/telemetry';
import { createWorker, type WorkerRole } from '../../src/workers/worker';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`worker-process: ${name} is not set`);
  return v;
}

async function main(): Promise<void> {
  if (process.env.SDK_METRICS_PORT && !process.env.WORKER_METRICS_ADDRESS) {
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${process.env.SDK_METRICS_PORT}` } } } });
  }
  const pool = createPool(required('DATABASE_URL'), { max: 4 });
  const metrics = process.env.WORKER_METRICS_ADDRESS ? await startWorkerTelemetry({ metricsAddress: process.env.WORKER_METRICS_ADDRESS, pool }) : undefined;
  const connection = await NativeConnection.connect({ address: required('TEMPORAL_ADDRESS') });
  const bundlePath = process.env.WORKFLOW_BUNDLE;
  const slots = process.env.MAX_ACTIVITIES ? { maxConcurrentActivityTaskExecutions: Number(process.env.MAX_ACTIVITIES) } : undefined;
  const sticky = process.env.STICKY_TIMEOUT ? { stickyQueueScheduleToStartTimeout: process.env.STICKY_TIMEOUT as Duration } : undefined;
  const worker = await createWorker({
    connection,
    namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: required('TASK_QUEUE'),
    deps: { pool, cache: createMemoryCache() },
    workflowBundle: bundlePath ? { code: readFileSync(bundlePath, 'utf8') } : undefined,
    role: (process.env.ROLE as WorkerRole | undefined) ?? 'all',
    options: { ...slots, ...sticky },
    forecastOptions: slots,
  });
  const stop = () => worker.shutdown();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await connection.close();
  await metrics?.close();
  await pool.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

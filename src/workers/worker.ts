import { availableParallelism } from 'node:os';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { forecastTaskQueue } from '../config/task-queues';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * What a worker process serves: `workflows` = workflow tasks and light activities on the base task
 * queue; `forecast` = the CPU-bound batch activities on the forecast queue; `all` = both.
 */
export const WORKER_ROLES = ['workflows', 'forecast', 'all'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** The activities routed to the forecast task queue (src/workflows/batches.ts). */
const BATCH_ACTIVITIES = ['forecastBatch', 'backtestBatch'] as const;

export interface WorkerParams {
  connection: NativeConnection;
  namespace: string;
  /** The base task queue (NEURO_TASK_QUEUE); the forecast queue is derived from it. */
  taskQueue: string;
  deps: ActivityDeps;
  role?: WorkerRole;
  /** A pre-built bundle (tests build it once); otherwise the worker bundles src/workflows itself. */
  workflowBundle?: { code: string };
  /** Options of the workflow worker (base queue). */
  options?: Partial<WorkerOptions>;
  /** Options of the forecast worker (forecast queue); default: batch slots from the machine's cores. */
  forecastOptions?: Partial<WorkerOptions>;
}

/**
 * The Temporal workers of one process, run and stopped together. A Worker polls one task queue,
 * so role `all` is two of them on one connection.
 */
export class NeuroWorker {
  constructor(readonly workers: Worker[]) {}

  /** Runs until shutdown; if one worker fails, the others are shut down and the error is thrown. */
  async run(): Promise<void> {
    const results = await Promise.allSettled(
      this.workers.map((w) =>
        w.run().catch((err) => {
          this.shutdown();
          throw err;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async runUntil<T>(fnOrPromise: Promise<T> | (() => Promise<T>)): Promise<T> {
    const running = this.run();
    try {
      return await (typeof fnOrPromise === 'function' ? fnOrPromise() : fnOrPromise);
    } finally {
      this.shutdown();
      await running;
    }
  }

  /** Stops polling; tasks in flight finish within the shutdown grace time. Safe to call twice. */
  shutdown(): void {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
  }

  getState(): ReturnType<Worker['getState']> {
    return this.workers.some((w) => w.getState() === 'RUNNING') ? 'RUNNING' : this.workers[0].getState();
  }
}

/** The workers of one process for its role (default `all`), sharing one connection. */
export async function createWorker(p: WorkerParams): Promise<NeuroWorker> {
  const role = p.role ?? 'all';
  const activities = createActivities(p.deps);
  const workers: Worker[] = [];
  if (role !== 'forecast') {
    workers.push(
      await Worker.create({
        connection: p.connection,
        namespace: p.namespace,
        taskQueue: p.taskQueue,
        ...(p.workflowBundle ? { workflowBundle: p.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
        // Every activity, batches too: runs started before the queue split still schedule them here.
        activities,
        maxConcurrentActivityTaskExecutions: 4,
        shutdownGraceTime: '10s',
        ...p.options,
      }),
    );
  }
  if (role !== 'workflows') {
    workers.push(
      await Worker.create({
        connection: p.connection,
        namespace: p.namespace,
        taskQueue: forecastTaskQueue(p.taskQueue),
        activities: Object.fromEntries(BATCH_ACTIVITIES.map((name) => [name, activities[name]])),
        // Batches are CPU-bound but yield every 200 ms (heartbeats, I/O): a few slots per core overlap
        // one batch's database reads and writes with another's forecasting.
        maxConcurrentActivityTaskExecutions: Math.max(2, 2 * availableParallelism()),
        shutdownGraceTime: '10s',
        ...p.forecastOptions,
      }),
    );
  }
  return new NeuroWorker(workers);
}

/** Sets the SDK's log level for this process; must run before the first worker or connection. */
export function installRuntimeLogger(level: LogLevel): void {
  Runtime.install({ logger: new DefaultLogger(level) });
}

export async function buildWorkflowBundle(): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };

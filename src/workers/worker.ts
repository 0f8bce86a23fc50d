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

/**
 * What bounds recovery after a worker dies, per task queue (measured by `npm run bench:recovery`,
 * README "Recovery after a worker dies"; the batch heartbeat timeouts are in src/workflows/batches.ts).
 */
export const WORKFLOW_QUEUE_SETTINGS = {
  // A workflow's next task goes to the sticky queue of the worker that cached it; if that worker is
  // dead, the task waits there until this expires, then any worker takes it from the base queue and
  // replays the history. The SDK's 10 s made a rollback right after a crash take 10.4 s. A live
  // worker starts its sticky tasks within milliseconds even while forecasting (its pollers are
  // native threads), so 1 s caused no sticky timeout or extra replay on a busy worker (measured).
  stickyQueueScheduleToStartTimeout: '1s',
  // Room for every open workflow (rollouts, runs and their children, deploy-hook timers): an
  // evicted workflow is replayed from its full history on its next task. The SDK's default follows
  // the heap, which is only 32 workflows in a 256 MiB container.
  maxCachedWorkflows: 500,
  // SIGTERM/Ctrl-C: shutdown tells the server to hand this worker's sticky work to the base queue at
  // once (ShutdownWorker); light activities get this long to finish, then are cancelled and retried
  // elsewhere. A container runtime must wait longer than this before it kills the process.
  shutdownGraceTime: '10s',
} satisfies Partial<WorkerOptions>;

export const FORECAST_QUEUE_SETTINGS = {
  // No workflows here: a SIGKILLed worker's batch is retried elsewhere once its heartbeats stop; on
  // SIGTERM a batch gets this long to finish, then is cancelled (it checks every 200 ms) and retried.
  shutdownGraceTime: '10s',
} satisfies Partial<WorkerOptions>;

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
        ...WORKFLOW_QUEUE_SETTINGS,
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
        ...FORECAST_QUEUE_SETTINGS,
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

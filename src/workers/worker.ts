import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export const WORKFLOWS_PATH = require.resolve('../workflows');

export interface WorkerParams {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** A pre-built bundle (tests build it once); otherwise the worker bundles src/workflows itself. */
  workflowBundle?: { code: string };
  options?: Partial<WorkerOptions>;
}

/** One worker serving every workflow and activity of the orchestrator on one task queue. */
export async function createWorker(p: WorkerParams): Promise<Worker> {
  return Worker.create({
    connection: p.connection,
    namespace: p.namespace,
    taskQueue: p.taskQueue,
    ...(p.workflowBundle ? { workflowBundle: p.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(p.deps),
    // Several workers on one queue share a run; each runs a bounded number of batches at once.
    maxConcurrentActivityTaskExecutions: 4,
    shutdownGraceTime: '10s',
    ...p.options,
  });
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

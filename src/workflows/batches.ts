import { ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import { forecastTaskQueue } from '../config/task-queues';

/**
 * What forecastRun and backtest share: batch activities on the forecast task queue, lanes of
 * batches run side by side, and one bound on batches per workflow execution.
 */

/** Batches one execution runs before continue-as-new: about 15 events each keeps history small. */
export const BATCHES_PER_EXECUTION = 100;

/**
 * Proxies for the CPU-bound batch activities. They run on the forecast task queue (served by
 * `neuro worker --role forecast|all`); histories recorded before the split keep the workflow's own
 * queue. A killed worker's batch is retried elsewhere once its heartbeats stop.
 */
export function batchActivities(heartbeatTimeout: Duration): Pick<Activities, 'forecastBatch' | 'backtestBatch'> {
  const taskQueue = patched('batches-on-forecast-queue') ? forecastTaskQueue(workflowInfo().taskQueue) : undefined;
  return proxyActivities<Activities>({
    ...(taskQueue ? { taskQueue } : {}),
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout,
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
}

export interface BatchLanes {
  /** First batch index of this execution. */
  from: number;
  total: number;
  maxParallel: number;
  batchesPerExecution?: number;
  /** Runs one batch; lanes call it with increasing indexes. */
  run: (batchIndex: number) => Promise<void>;
}

/**
 * Runs batches from `from` in up to maxParallel lanes until this execution's share is done (or
 * Temporal suggests continuing as new). Returns the next batch index: < total means continue-as-new.
 */
export async function runBatchLanes(o: BatchLanes): Promise<number> {
  let next = o.from;
  const limit = Math.min(o.total, o.from + (o.batchesPerExecution ?? BATCHES_PER_EXECUTION));
  const lane = async () => {
    while (next < limit && !workflowInfo().continueAsNewSuggested) await o.run(next++);
  };
  const lanes = Math.max(1, Math.min(o.maxParallel, limit - next));
  await Promise.all(Array.from({ length: lanes }, lane));
  return next;
}

/** The message a person should read first: an activity failure's cause, else the error's own. */
export function failureMessage(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return e?.cause?.message ?? e?.message ?? String(err);
}

/**
 * A prepare activity refused the input: nothing was written, so the workflow fails at once with the
 * activity's message at the top (not buried under an ActivityFailure), keeping the cause's type.
 */
export function prepareFailure(err: unknown): ApplicationFailure {
  const cause = (err as { cause?: unknown }).cause;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  return ApplicationFailure.create({ message: failureMessage(err), type: type || 'PrepareFailed', nonRetryable: true, cause: err as Error });
}

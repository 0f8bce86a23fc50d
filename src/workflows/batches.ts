import { ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ActivityOptions, Duration } from '@temporalio/common';
import type { Activities } from '../activities';
import { forecastTaskQueue } from '../config/task-queues';

/**
 * What forecastRun and backtest share: batch activities on the forecast task queue, lanes of
 * batches run side by side, and one bound on batches per workflow execution.
 */

/** Batches one execution runs before continue-as-new: about 15 events each keeps history small. */
export const BATCHES_PER_EXECUTION = 100;

/**
 * How soon a killed worker's batch is retried on another one: the server notices after this much
 * silence, then the retry waits the first retry interval (1 s). Batches heartbeat on a timer every
 * 200 ms, during database waits too (src/activities/forecast.ts), and the SDK sends one at most
 * every 0.8 x the timeout; a backtest gets more room since one SKU's rolling-origin fits run between
 * beats. (They were 10 s and 30 s.) Timeouts are not part of the command sequence: no patch needed.
 */
export const BATCH_HEARTBEAT_TIMEOUT = { forecast: '3 seconds', backtest: '5 seconds' } as const satisfies Record<string, Duration>;

/**
 * Proxies for the CPU-bound batch activities. They run on the forecast task queue (served by
 * `neuro worker --role forecast|all`); histories recorded before the split keep the workflow's own
 * queue. A killed worker's batch is retried elsewhere once its heartbeats stop. The start-to-close
 * timeout only bounds a batch that is alive but stuck; it plays no part in crash recovery.
 */
type BatchActs = Pick<Activities, 'forecastBatch' | 'backtestBatch'>;
export function batchActivities(heartbeatTimeout: Duration): BatchActs & { named(summary: string): BatchActs } {
  const taskQueue = patched('batches-on-forecast-queue') ? forecastTaskQueue(workflowInfo().taskQueue) : undefined;
  const options: ActivityOptions = {
    ...(taskQueue ? { taskQueue } : {}),
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout,
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  };
  // named: the same activities with a summary for the Web UI ("batch 3/7"); it changes no command.
  const { forecastBatch, backtestBatch } = proxyActivities<Activities>(options);
  return { forecastBatch, backtestBatch, named: (summary: string) => proxyActivities<Activities>({ ...options, summary }) };
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

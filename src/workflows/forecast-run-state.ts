import type { ForecastBatchResult, PreparedRun } from '../activities/forecast';
import { mergeCounts } from '../forecasting/counts';
import type { ForecastRunProgress } from './messages';

/**
 * forecastRun's state and rules as pure functions (unit-tested in test/unit/forecast-run-state.test.ts):
 * the counters a run carries across continue-as-new, the ETA and the progress answer.
 */

export interface Counters {
  batchesDone: number;
  skusDone: number;
  batchesReused: number;
  totalDelayMs: number;
  gaps: number;
  currentDelayMs: number;
  /** Workflow-clock time spent in batch activities, for the ETA. */
  batchWallMs: number;
  peakRssMb: number;
  peakMemoryPct: number;
  modelCounts: Record<string, number>;
}

/** What a continued-as-new execution carries on. */
export interface Carried {
  prepared: PreparedRun;
  nextBatch: number;
  startedAtMs: number;
  paused: boolean;
  executions: number;
  counters: Counters;
}

export function newCounters(): Counters {
  return { batchesDone: 0, skusDone: 0, batchesReused: 0, totalDelayMs: 0, gaps: 0, currentDelayMs: 0, batchWallMs: 0, peakRssMb: 0, peakMemoryPct: 0, modelCounts: {} };
}

/** Counts a finished batch that took `wallMs` of workflow time. */
export function countBatch(c: Counters, r: ForecastBatchResult, wallMs: number): void {
  c.batchWallMs += wallMs;
  c.batchesDone++;
  c.skusDone += r.skus;
  if (r.alreadyDone) c.batchesReused++;
  c.peakRssMb = Math.max(c.peakRssMb, r.peakRssMb);
  c.peakMemoryPct = Math.max(c.peakMemoryPct, r.peakMemoryPct);
  mergeCounts(c.modelCounts, r.modelCounts);
}

/** Counts a gap taken before a batch (0 ms when the delay is off). */
export function countGap(c: Counters, delayMs: number): void {
  c.currentDelayMs = delayMs;
  c.totalDelayMs += delayMs;
  c.gaps++;
}

/**
 * Estimated ms left: the remaining batches at the mean batch time so far, spread over the lanes,
 * plus a delay before each batch not yet started. Null until a batch has finished.
 */
export function etaMs(c: Counters, totalBatches: number, maxParallel: number, inFlight: number): number | null {
  if (c.batchesDone === 0) return null;
  const left = totalBatches - c.batchesDone;
  const lanes = Math.max(1, Math.min(maxParallel, left));
  return (left * (c.batchWallMs / c.batchesDone)) / lanes + Math.max(0, left - inFlight) * c.currentDelayMs;
}

export interface ProgressView {
  runId: string;
  environment: string;
  runDate: string;
  status: ForecastRunProgress['status'];
  paused: boolean;
  inFlight: number;
  prepared?: Pick<PreparedRun, 'skus' | 'batches' | 'maxParallel'>;
  counters: Counters;
}

/** The `progress` query's answer. */
export function progress(v: ProgressView): ForecastRunProgress {
  const total = v.prepared?.batches ?? 0;
  return {
    runId: v.runId,
    environment: v.environment,
    runDate: v.runDate,
    status: v.paused && v.status === 'running' ? 'paused' : v.status,
    skusTotal: v.prepared?.skus ?? 0,
    skusDone: v.counters.skusDone,
    batchesTotal: total,
    batchesDone: v.counters.batchesDone,
    currentDelayMs: v.counters.currentDelayMs,
    etaMs: etaMs(v.counters, total, v.prepared?.maxParallel ?? 1, v.inFlight),
    paused: v.paused,
  };
}

import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/**
 * Every signal, query and update of every workflow, in one shared module: the names are public
 * (the `temporal` CLI and the Web UI use them), so they are defined once and imported by both the
 * workflows and the clients.
 */

// ---- forecastRun -------------------------------------------------------------------------------

export interface ForecastRunProgress {
  runId: string;
  environment: string;
  runDate: string;
  status: 'listing' | 'running' | 'paused' | 'preloading' | 'completed' | 'failed';
  skusTotal: number;
  skusDone: number;
  batchesTotal: number;
  batchesDone: number;
  currentDelayMs: number;
  /** Estimated ms left, from the mean batch time so far plus the remaining delays. */
  etaMs: number | null;
  paused: boolean;
}

export const progressQuery = defineQuery<ForecastRunProgress>('progress');
export const pauseSignal = defineSignal<[{ by?: string; reason?: string }?]>('pause');
export const resumeSignal = defineSignal<[{ by?: string }?]>('resume');

// ---- rollout -----------------------------------------------------------------------------------

export interface ApprovePayload {
  role: string;
  by: string;
  comment?: string;
}
export interface DecisionPayload {
  by: string;
  reason: string;
}

/** Updates answer the caller (accepted, or rejected by the validator with the reason). */
export const approveUpdate = defineUpdate<string, [ApprovePayload]>('approve');
export const goUpdate = defineUpdate<string, [DecisionPayload]>('go');
export const noGoUpdate = defineUpdate<string, [DecisionPayload]>('noGo');
export const rollbackUpdate = defineUpdate<string, [DecisionPayload]>('rollback');

/** Same-named signals for `temporal workflow signal`; a bad payload is recorded as rejected, nothing changes. */
export const approveSignal = defineSignal<[ApprovePayload]>('approve');
export const goSignal = defineSignal<[DecisionPayload]>('go');
export const noGoSignal = defineSignal<[DecisionPayload]>('noGo');
export const rollbackSignal = defineSignal<[DecisionPayload]>('rollback');
// statusQuery (name 'status') is added here by the rollout workflow's author, typed by its RolloutStatus.

import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovePayload, DecisionPayload, GoPayload, RolloutStatus } from '../rollout/types';

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
  status: 'listing' | 'running' | 'paused' | 'preloading' | 'backtesting' | 'completed' | 'failed';
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

// ---- backtest ----------------------------------------------------------------------------------

export interface BacktestProgress {
  backtestId: string;
  environment: string;
  status: 'listing' | 'running' | 'completed' | 'failed';
  skusTotal: number;
  skusDone: number;
  batchesTotal: number;
  batchesDone: number;
}

/** Same public name as forecastRun's: `temporal workflow query --type progress` works on both. */
export const backtestProgressQuery = defineQuery<BacktestProgress>('progress');

// ---- rollout -----------------------------------------------------------------------------------

/** Updates answer the caller (accepted, or rejected by the validator with the reason). */
export const approveUpdate = defineUpdate<string, [ApprovePayload]>('approve');
export const goUpdate = defineUpdate<string, [GoPayload]>('go');
export const noGoUpdate = defineUpdate<string, [DecisionPayload]>('noGo');
export const rollbackUpdate = defineUpdate<string, [DecisionPayload]>('rollback');
/** Release although production gates stayed inconclusive at the end of monitoring (state awaiting-confirmation). */
export const confirmUpdate = defineUpdate<string, [DecisionPayload]>('confirm');
/** Start the next cohort step of a cohort rollout whose step passed (state awaiting-promotion). */
export const promoteUpdate = defineUpdate<string, [DecisionPayload]>('promote');

/** Same-named signals for `temporal workflow signal`; a bad payload is recorded as rejected, nothing changes. */
export const approveSignal = defineSignal<[ApprovePayload]>('approve');
export const goSignal = defineSignal<[GoPayload]>('go');
export const noGoSignal = defineSignal<[DecisionPayload]>('noGo');
export const rollbackSignal = defineSignal<[DecisionPayload]>('rollback');
export const confirmSignal = defineSignal<[DecisionPayload]>('confirm');
export const promoteSignal = defineSignal<[DecisionPayload]>('promote');
/**
 * A Signal and an Update may share a name: the TS SDK (1.24) keeps signal and update handlers in
 * separate maps and the server routes them separately (checked by test/integration/rollout.test.ts).
 */
export const statusQuery = defineQuery<RolloutStatus>('status');
export type { ApprovePayload, DecisionPayload, GoPayload, RolloutStatus };

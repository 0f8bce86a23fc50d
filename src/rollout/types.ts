/**
 * Types shared by the rollout workflow, its activities, the CLI and the reports. Pure types only:
 * the workflow bundle imports this file.
 */

import type { Environment } from '../config/schema';
import type { ShadowComparison } from './shadow';

export type { Environment };
/** A config value as stored (JSON); null in a snapshot = no override (the key is on its default). */
export type ConfigValue = string | number | boolean;
export type Overrides = Record<string, ConfigValue | null>;

export const GATE_NAMES = [
  'forecast-duration',
  'peak-memory',
  'mape',
  'cache-hit-rate',
  'prefetch-duration',
  'peak-hour-misses',
  'prefetch-memory-impact',
  'outlier-count',
  'outlier-mape',
  // The operations view (src/ops/stability.ts): the plan's stability score and incidents, and GC.
  'stability-score',
  'incidents',
  'gc-pause',
] as const;
export type GateName = (typeof GATE_NAMES)[number];

export const COMPARATORS = ['<', '<=', '>', '>='] as const;
export type Comparator = (typeof COMPARATORS)[number];

/** One pass criterion of a plan's table, e.g. peak memory < 62 (%). */
export interface GateSpec {
  gate: GateName;
  comparator: Comparator;
  /** Absolute threshold in the gate's unit (ms, %, count). */
  threshold: number;
  /**
   * Also relative to the pre-change baseline: the measured value must satisfy the comparator
   * against baseline x factor too (the stricter of the two thresholds applies).
   */
  baselineFactor?: number;
  /** Fewer samples than this -> inconclusive (runs, prefetches or requests, by gate). */
  minSamples?: number;
  /**
   * false: the plan lets this gate end a window inconclusive (e.g. a cache gate where no traffic is
   * expected); default true: an inconclusive end holds the rollout for an explicit decision.
   */
  mustHaveData?: boolean;
}

/** A plan gate's threshold replaced (or a gate added) for one rollout: `--gate 'mape<25'`, recorded. */
export interface GateOverride {
  gate: GateName;
  comparator: Comparator;
  threshold: number;
  /** The plan's criterion it replaced; absent when the override adds a gate. */
  replaced?: { comparator: Comparator; threshold: number };
  /** Who set it (the rollout's author). */
  by: string;
}

export type GateStatus = 'pass' | 'fail' | 'inconclusive';

export interface GateResult {
  gate: GateName;
  environment: Environment;
  status: GateStatus;
  measured: number | null;
  /** The effective threshold (after the baseline factor). */
  threshold: number;
  comparator: Comparator;
  unit: string;
  samples: number;
  baseline: number | null;
  windowStart: string;
  windowEnd: string;
  /** Why, in words: "mean of 3 runs 1234 ms < 84000 ms", "no prefetch runs in window". */
  detail: string;
  /** Copied from the spec when false: the plan lets this gate end inconclusive. */
  mustHaveData?: false;
  /** Measured on a cohort's SKUs only (a cohort step), not on the whole catalogue. */
  cohort?: string;
}

export interface ValidationSpec {
  /** forecastRun children in staging, spread over the soak window. */
  cycles: number;
  soakMs: number;
  checkIntervalMs: number;
  /** forecastRun children in staging before the change, for gates relative to the baseline. */
  baselineCycles: number;
  /** Passed to every forecastRun child (smaller catalogues in rehearsals). */
  forecast?: { batchSize?: number; skus?: string[]; policy?: string; runDate?: string };
  /** Run a prefetch child after each cycle (default: when a changed key is a prefetch key). */
  prefetch?: boolean;
  /** Shadow A/B: every validation cycle also forecasts and backtests this challenger (model or policy), never served. */
  shadow?: { challenger: string };
}

export interface MonitorSpec {
  windowMs: number;
  checkIntervalMs: number;
  /** forecastRun children in production during the window (0: rely on the daily schedule). */
  cycles: number;
  /** Start postDeployPrefetch after promotion (the deploy hook of the plan). */
  postDeployPrefetch: boolean;
}

/** How a cohort step picks its SKUs from the reference backtest (production's latest, taken at GO). */
export const COHORT_SELECTS = ['top-outliers', 'flagged-outliers', 'catalogue'] as const;
export type CohortSelect = (typeof COHORT_SELECTS)[number];

export interface CohortStepSpec {
  name: string;
  /** top-outliers: the `count` worst by MAPE; flagged-outliers: every SKU over OUTLIER_MAPE_THRESHOLD; catalogue: the change set for every SKU. */
  select: CohortSelect;
  count?: number;
}

/**
 * Production in steps over cohorts of SKUs: each cohort step assigns `serves` to its SKUs (model
 * assignments), the last (catalogue) step applies the change set; each step is watched like the
 * monitoring window, with its gates on the cohort and on the catalogue.
 */
export interface CohortsSpec {
  /** What a cohort's SKUs are assigned (a model or a policy, e.g. the hybrid "plan"). */
  serves: string;
  /** auto: the next step starts when the previous passed; manual: after a signed `promote`. */
  promotion: 'auto' | 'manual';
  steps: CohortStepSpec[];
}

/** What `rollout` is started with. Durations are ms; the CLI turns "24h" into ms. */
export interface RolloutInput {
  release: string;
  plan?: string;
  description: string;
  author: string;
  changes: Record<string, ConfigValue>;
  /** Always ['staging', 'production'] in this order (validated). */
  stages: Environment[];
  validation: ValidationSpec;
  gates: GateSpec[];
  signOffs: string[];
  approvalTimeoutMs: number;
  monitor: MonitorSpec;
  /** Gates that the production monitor evaluates (default: the same gates). */
  productionGates?: GateSpec[];
  /** After monitoring ends with gates inconclusive: how long to wait for `confirm` before rolling back (default 24 h). */
  confirmTimeoutMs?: number;
  /** Thresholds replaced or gates added for this rollout (already applied to `gates`/`productionGates`). */
  overrides?: GateOverride[];
  /** A hybrid rollout's guard after monitoring: the fallback is checked every interval (a new production run) until the window ends. */
  guard?: { windowMs: number; checkIntervalMs: number };
  /** Production in cohort steps instead of all at once (P3). */
  cohorts?: CohortsSpec;
}

export type RolloutStage =
  | 'prepare'
  | 'baseline'
  | 'apply-staging'
  | 'validate'
  | 'soak'
  | 'approval'
  | 'apply-production'
  | 'monitor'
  | 'promotion'
  | 'confirmation'
  | 'guard'
  | 'release'
  | 'rollback'
  | 'done';

export type RolloutState = 'running' | 'awaiting-approval' | 'awaiting-promotion' | 'awaiting-confirmation' | 'completed' | 'rolled-back' | 'no-go' | 'failed';

export interface EnvironmentChange {
  /** Overrides before the change (null = default): what a rollback restores. */
  snapshot: Overrides;
  /** Effective values before and after. */
  before: Record<string, ConfigValue | null>;
  after: Record<string, ConfigValue | null>;
  appliedAt: string;
  restoredAt?: string;
}

export interface Approval {
  role: string;
  by: string;
  comment?: string;
  at: string;
}

export interface Decision {
  kind: 'go' | 'no-go' | 'confirm';
  by: string;
  reason: string;
  at: string;
  acceptedInconclusive?: string[];
  /** Inconclusive gates the plan lets end without data (mustHaveData: false): accepted by the plan, not by this decision. */
  allowedInconclusive?: string[];
}

/** How production monitoring ended when a gate was still inconclusive. */
export interface MonitorEnd {
  at: string;
  /** Gates that need data (mustHaveData, the default): the rollout holds for `confirm` or `rollback`. */
  inconclusive: string[];
  /** Gates the plan lets end without data (mustHaveData: false). */
  allowedInconclusive: string[];
}

export type CohortStepState = 'pending' | 'awaiting-promotion' | 'running' | 'awaiting-confirmation' | 'passed' | 'skipped' | 'failed' | 'rolled-back';

/** One production step of a cohort rollout, as the status shows it. */
export interface CohortStep {
  name: string;
  select: CohortSelect;
  /** The cohort label written on the step's assignments (the step's name). */
  cohort: string;
  /** The step's cohort (cumulative: a later step's cohort includes the earlier ones); 'all' for the catalogue step. */
  skus: string[] | 'all';
  state: CohortStepState;
  startedAt?: string;
  endedAt?: string;
  /** Latest gate results of the step: on the cohort (`cohort` set) and on the whole catalogue. */
  gates: GateResult[];
  /** Who started the step: `rollout` for an automatic promotion or the first step after GO. */
  promotedBy?: { by: string; reason: string; at: string; automatic: boolean };
  /** The explicit decision that let this step end with gates inconclusive. */
  confirmation?: Decision;
  /** Why the step ran on no SKUs (no reference backtest, no outliers). */
  note?: string;
}

export interface RollbackRecord {
  by: string;
  reason: string;
  automatic: boolean;
  requestedAt: string;
  completedAt?: string;
  /** Environments restored, in the order they were restored. */
  restored: Environment[];
  /** Cohort rollouts: SKU assignments put back as they were before the rollout, and those left (changed by someone since). */
  assignments?: { restored: number; skipped: string[] };
  durationMs?: number;
}

/**
 * A key a rollback or revert left alone (compare-and-set): it no longer held what the release
 * wrote, so someone else changed it after the release; restoring would have overwritten that.
 */
export interface RestoreConflict {
  environment: Environment;
  key: string;
  /** The override the release wrote (null = it removed the override). */
  wrote: ConfigValue | null;
  /** The override found (null = none: the key is on its default). */
  live: ConfigValue | null;
  /** What the restore would have written. */
  snapshot: ConfigValue | null;
  /** The change that wrote the live value (the key's latest version), when there is one. */
  version: number;
  changedBy: string | null;
  changedAt: string | null;
}

export interface TimelineEntry {
  at: string;
  event: string;
  detail?: string;
}

/**
 * Message payloads (signals and updates of the same name). `by` is the signer: the roster name
 * whose key made `signature` (base64 Ed25519 over the canonical message of src/rollout/signoff.ts).
 * Histories recorded before signed sign-offs carry neither.
 */
export interface ApprovePayload {
  role: string;
  by: string;
  comment?: string;
  signature?: string;
}
export interface DecisionPayload {
  by: string;
  reason: string;
  signature?: string;
}
/** GO may knowingly accept gates that stayed inconclusive (too little data); they are recorded. */
export interface GoPayload extends DecisionPayload {
  acceptInconclusive?: boolean;
}

/** What the verifying activity found: the rostered signer (name as rostered, roles), or why not. */
export type SignerVerdict = { ok: true; name: string; roles: string[] } | { ok: false; reason: string };

export interface RolloutStatus {
  release: string;
  workflowId: string;
  plan?: string;
  description: string;
  author: string;
  stage: RolloutStage;
  state: RolloutState;
  changes: {
    requested: Record<string, ConfigValue>;
    environments: Partial<Record<Environment, EnvironmentChange>>;
  };
  /** Latest evaluation of each gate, per environment. */
  gates: Partial<Record<Environment, GateResult[]>>;
  approvals: { required: string[]; received: Approval[]; missing: string[] };
  decision?: Decision;
  /** The explicit decision that accepted production gates still inconclusive at the end of monitoring. */
  confirmation?: Decision;
  monitorEnd?: MonitorEnd;
  /** Gate thresholds replaced or added for this rollout, with who set them. */
  overrides?: GateOverride[];
  rollback?: RollbackRecord;
  deadlines: { soakEndsAt?: string; approvalDeadline?: string; monitorEndsAt?: string; confirmDeadline?: string; promotionDeadline?: string; guardEndsAt?: string };
  /** Cohort rollouts: the production steps in order. */
  steps?: CohortStep[];
  /** Cohort rollouts: the production backtest (forecast run) the cohorts were chosen from. */
  cohortReference?: { runId: string | null; threshold: number };
  /** Messages refused (bad payload or wrong moment), so a refused signal is visible too. */
  rejected: { at: string; message: string; reason: string }[];
  timeline: TimelineEntry[];
  /** Keys a rollback did not restore because someone else had changed them (see RestoreConflict). */
  conflicts?: RestoreConflict[];
  /** The shadow A/B of the validation cycles (when the input asks for one). */
  shadow?: ShadowComparison;
  error?: string;
}

import type { CohortStep, CohortStepSpec, CohortsSpec, GateName, RolloutStatus } from './types';

/**
 * The cohort rollout's rules, pure (test/unit/rollout-cohorts.test.ts): which SKUs a step takes
 * from the reference backtest, and how a step's record moves. The workflow sequences them.
 */

/** Gates also measured on a step's cohort (the plan's outlier criteria); the others on the catalogue only. */
export const COHORT_GATES: readonly GateName[] = ['outlier-count', 'outlier-mape'];

/** A SKU's MAPE in the reference backtest. */
export interface RankedSku {
  sku: string;
  mape: number;
}

/**
 * A step's cohort from the reference backtest: the `count` worst outliers (MAPE over the threshold,
 * worst first, ties by id), or every outlier; cumulative: SKUs of earlier steps stay in it.
 */
export function selectCohort(step: CohortStepSpec, ranked: RankedSku[], threshold: number, earlier: string[]): string[] | 'all' {
  if (step.select === 'catalogue') return 'all';
  const outliers = ranked
    .filter((r) => Number.isFinite(r.mape) && r.mape > threshold)
    .sort((a, b) => b.mape - a.mape || (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
    .map((r) => r.sku);
  const picked = step.select === 'top-outliers' ? outliers.slice(0, step.count ?? 5) : outliers;
  return [...new Set([...earlier, ...picked])].sort();
}

/** Why a step has no SKUs, in words. */
export function emptyCohortNote(step: CohortStepSpec, referenceRunId: string | null, threshold: number): string {
  if (!referenceRunId) return `no backtest in production to choose ${step.name} from: skipped`;
  return `no SKU over OUTLIER_MAPE_THRESHOLD ${threshold}% in backtest ${referenceRunId}: skipped`;
}

export function initialSteps(spec: CohortsSpec | undefined): CohortStep[] | undefined {
  return spec?.steps.map((s) => ({ name: s.name, select: s.select, cohort: s.name, skus: s.select === 'catalogue' ? 'all' : [], state: 'pending', gates: [] }));
}

/** The SKUs of the latest step that ran before step i (its cohort includes the earlier ones). */
export function earlierSkus(st: RolloutStatus, i: number): string[] {
  for (let j = i - 1; j >= 0; j--) {
    const skus = st.steps?.[j]?.skus;
    if (Array.isArray(skus) && skus.length) return skus;
  }
  return [];
}

/** Whether step i waits for a promotion: a later step after one that ran (not skipped), when promotion is manual. */
export function waitsForPromotion(spec: CohortsSpec, st: RolloutStatus, i: number): boolean {
  return i > 0 && spec.promotion === 'manual' && st.steps?.[i - 1]?.state === 'passed';
}

export function stepAt(st: RolloutStatus, i: number): CohortStep {
  const step = st.steps?.[i];
  if (!step) throw new Error(`no cohort step ${i}`);
  return step;
}

/** A rollback ends the step in progress (running, or held for confirm or promote) as rolled back. */
export function rollBackSteps(st: RolloutStatus, at: string): void {
  for (const step of st.steps ?? []) {
    if (['running', 'awaiting-confirmation', 'awaiting-promotion'].includes(step.state)) Object.assign(step, { state: 'rolled-back', endedAt: at });
  }
}

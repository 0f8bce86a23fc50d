import { ApplicationFailure, CancellationScope, defineQuery, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { recordConflicts } from '../rollout/restore';
import { initialRevertStatus, type ReleaseRevertInput, type ReleaseRevertStatus, type RevertPlan } from '../rollout/revert';
import { STAGE, STATUS } from './search-attributes';

export type { ReleaseRevertInput, ReleaseRevertStatus };

/**
 * `neuro release revert RELEASE`: restores a completed release's snapshot, production then
 * staging, when no later change touched its keys. Like a rollout it claims its keys first (one
 * release at a time per key), restores compare-and-set, records its own release record and gives
 * the claims back however it ends. The rules (who may revert what) are in src/rollout/revert.ts.
 */

export const revertStatusQuery = defineQuery<ReleaseRevertStatus>('status');

const RECORD_OPTIONS = { startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '10s' } } as const;
const { prepareRevert, recordRevert, releaseKeyClaims } = proxyActivities<Activities>(RECORD_OPTIONS);
const CONFIG_OPTIONS = { startToCloseTimeout: '20s', retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' } } as const;
const restoreIn = (environment: string) => proxyActivities<Activities>({ ...CONFIG_OPTIONS, summary: `restore ${environment}` }).restoreConfig;

const errorText = (err: unknown) => (err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));

export async function releaseRevert(input: ReleaseRevertInput): Promise<ReleaseRevertStatus> {
  const st = initialRevertStatus(input, workflowInfo().workflowId);
  setHandler(revertStatusQuery, () => st);
  const log = (event: string, detail?: string) => {
    st.timeline.push({ at: new Date().toISOString(), event, ...(detail ? { detail } : {}) });
    setCurrentDetails(`**${st.state}** — ${event}${detail ? `: ${detail}` : ''}`);
  };
  const setState = (state: ReleaseRevertStatus['state']) => {
    st.state = state;
    upsertSearchAttributes([{ key: STATUS, value: state }, { key: STAGE, value: state === 'running' ? 'revert' : 'done' }]);
  };

  let prepared: { plan: RevertPlan; revertId: number };
  try {
    prepared = await prepareRevert({ ...input, workflowId: st.workflowId });
  } catch (err) {
    st.error = errorText(err);
    setState('refused');
    log('refused', st.error);
    throw ApplicationFailure.nonRetryable(`revert of ${st.release} refused: ${st.error}`, 'ReleaseRevertRefused');
  }
  const { plan, revertId } = prepared;
  st.keys = plan.keys;
  log('claimed keys', plan.keys.join(', '));
  try {
    for (const step of plan.steps) {
      const { conflicts } = await restoreIn(step.environment)({ ...step, actor: `revert:${st.by}`, reason: `revert of ${st.release}: ${st.reason}` });
      if (conflicts.length) {
        // A change slipped in after the check: it is left as it is, and the revert stops here.
        recordConflicts(st, conflicts, new Date().getTime());
        st.error = `stopped at ${step.environment}: a key changed after the release`;
        setState('conflict');
        break;
      }
      st.restored.push(step.environment);
      log(`restored ${step.environment}`, Object.entries(step.snapshot).map(([k, v]) => `${k}=${v ?? '(default)'}`).join(', '));
    }
    if (st.state === 'running') setState('completed');
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await recordRevert({ status: st, revertId, plan });
      await releaseKeyClaims(st.workflowId);
    });
    log('done');
  }
  if (st.state === 'conflict') throw ApplicationFailure.nonRetryable(`revert of ${st.release} stopped: ${st.error}`, 'ReleaseRevertConflict');
  return st;
}

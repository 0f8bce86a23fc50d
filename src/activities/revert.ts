import { finishRevert, insertRevert, revertFacts } from '../db/reverts';
import { releaseClaims } from '../db/claims';
import { saveRelease } from '../db/rollouts';
import { planRevert, revertChangelog, revertReleaseTag, RevertRefusedError, type ReleaseRevertInput, type ReleaseRevertStatus, type RevertPlan } from '../rollout/revert';
import type { ActivityDeps } from './deps';
import { BadInputError } from './errors';
import { claimReleaseKeys } from './rollout';

export function createRevertActivities({ pool }: ActivityDeps) {
  return {
    /**
     * Decides a revert: the release must exist and be completed, and no later change may have
     * touched its keys. Claims the keys (like a rollout: one release at a time per key) before
     * checking, so nothing slips in between; a refusal gives them back and is recorded.
     */
    async prepareRevert(input: ReleaseRevertInput & { workflowId: string }): Promise<{ plan: RevertPlan; revertId: number }> {
      const by = input.by?.trim();
      const reason = input.reason?.trim();
      if (!input.release?.trim()) throw new BadInputError('a release to revert is required');
      if (!by) throw new BadInputError('--by (who reverts) is required');
      if (!reason) throw new BadInputError('--reason is required');
      const first = await revertFacts(pool, input.release);
      const keys = Object.keys(first.rollout?.changes ?? {});
      if (keys.length) await claimReleaseKeys(pool, { release: input.release, workflowId: input.workflowId, kind: 'revert' }, ['staging', 'production'], keys);
      try {
        const plan = planRevert(await revertFacts(pool, input.release));
        const revertId = await insertRevert(pool, { release: input.release, workflowId: input.workflowId, by, reason, status: 'running' });
        return { plan, revertId };
      } catch (err) {
        await releaseClaims(pool, input.workflowId);
        if (err instanceof RevertRefusedError) {
          // A known release's refused revert shows in its status; an unknown tag leaves no row.
          if (first.rollout) await insertRevert(pool, { release: input.release, workflowId: input.workflowId, by, reason, status: 'refused', detail: { error: err.message } });
          throw new BadInputError(err.message);
        }
        throw err;
      }
    },

    /** The revert's outcome on its row and its own release record (CHANGELOG_ops entry). */
    async recordRevert(a: { status: ReleaseRevertStatus; revertId: number; plan: RevertPlan }): Promise<void> {
      const s = a.status;
      await finishRevert(pool, a.revertId, s.state, { restored: s.restored, conflicts: s.conflicts ?? [], ...(s.error ? { error: s.error } : {}) });
      const changelog = revertChangelog(s, a.plan);
      await saveRelease(pool, { release: revertReleaseTag(s.release), tag: revertReleaseTag(s.release), status: s.state, changelog, report: `# Revert report\n\n${changelog}\n` });
    },
  };
}

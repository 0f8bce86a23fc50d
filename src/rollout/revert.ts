import type { ConfigValue, Environment, Overrides, RestoreConflict, TimelineEntry } from './types';

/**
 * The rules of `neuro release revert`, pure (test/unit/release-revert.test.ts): which release may
 * be reverted, what its revert restores (production, then staging), and which later change refuses
 * it. The activity (src/activities/revert.ts) loads the facts; the workflow
 * (src/workflows/release-revert.ts) sequences the restores.
 */

export interface ReleaseRevertInput {
  release: string;
  by: string;
  reason: string;
}

/** The facts a revert is decided on, read from PostgreSQL. */
export interface RevertFacts {
  release: string;
  rollout?: {
    status: string;
    startedAt: string;
    finishedAt: string | null;
    /** The overrides the release wrote (its change set). */
    changes: Record<string, ConfigValue>;
    /** Per environment: the overrides before the release (null = none), what a revert restores. */
    snapshot: Partial<Record<Environment, Overrides | null>>;
  };
  /** The latest revert of this release that completed, if any. */
  lastRevert?: { workflowId: string; by: string; finishedAt: string };
  /** Per environment and key, the config history since the release started, oldest first. */
  history: { environment: Environment; key: string; version: number; changedBy: string; changedAt: string }[];
}

export interface RevertStep {
  environment: Environment;
  /** What to write back (null = remove the override). */
  snapshot: Overrides;
  /** What the keys must still hold (the release's values): the compare-and-set. */
  expected: Overrides;
}

export interface RevertPlan {
  release: string;
  keys: string[];
  /** Production first, then staging: the reverse of the rollout's order. */
  steps: RevertStep[];
}

export class RevertRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RevertRefusedError';
  }
}

/** The change a release made is the key's latest audit row written as `rollout:<release>`. */
export const releaseActor = (release: string) => `rollout:${release}`;

/** The plan, or RevertRefusedError naming why (unknown, not completed, already reverted, a later change). */
export function planRevert(f: RevertFacts): RevertPlan {
  const r = f.rollout;
  if (!r) throw new RevertRefusedError(`no release ${f.release}: nothing was rolled out under that tag (see neuro report --release or the rollouts table)`);
  if (r.status !== 'completed') {
    throw new RevertRefusedError(`release ${f.release} is ${r.status}, not completed: only a completed release can be reverted${r.status === 'running' || r.status === 'awaiting-approval' ? ' (roll the running rollout back instead)' : ''}`);
  }
  if (f.lastRevert && r.finishedAt && f.lastRevert.finishedAt > r.finishedAt) {
    throw new RevertRefusedError(`release ${f.release} was already reverted by ${f.lastRevert.by} at ${f.lastRevert.finishedAt} (workflow ${f.lastRevert.workflowId})`);
  }
  const keys = Object.keys(r.changes);
  const later: string[] = [];
  const steps: RevertStep[] = [];
  for (const environment of ['production', 'staging'] as const) {
    const snap = r.snapshot[environment];
    if (!snap) continue; // the release never changed this environment
    for (const key of keys) {
      const rows = f.history.filter((h) => h.environment === environment && h.key === key);
      const own = rows.filter((h) => h.changedBy === releaseActor(f.release)).at(-1);
      const after = rows.filter((h) => (own ? h.version > own.version : h.changedBy !== releaseActor(f.release)));
      const last = after.at(-1);
      if (last) later.push(`${key} in ${environment} changed after the release: version ${last.version} by ${last.changedBy} at ${last.changedAt}`);
    }
    steps.push({
      environment,
      snapshot: Object.fromEntries(keys.map((k) => [k, snap[k] ?? null])),
      expected: Object.fromEntries(keys.map((k) => [k, r.changes[k]])),
    });
  }
  if (later.length) throw new RevertRefusedError(`revert of ${f.release} refused, a later change touched its keys: ${later.join('; ')}`);
  if (!steps.length) throw new RevertRefusedError(`release ${f.release} recorded no snapshot: there is nothing to restore`);
  return { release: f.release, keys, steps };
}

export type RevertState = 'running' | 'completed' | 'refused' | 'conflict';

/** The revert's status (query `status`), its own record in the release log. */
export interface ReleaseRevertStatus {
  release: string;
  workflowId: string;
  by: string;
  reason: string;
  state: RevertState;
  keys: string[];
  /** Environments restored, in order. */
  restored: Environment[];
  conflicts?: RestoreConflict[];
  timeline: TimelineEntry[];
  error?: string;
}

export function initialRevertStatus(input: ReleaseRevertInput, workflowId: string): ReleaseRevertStatus {
  return { release: String(input?.release ?? ''), workflowId, by: String(input?.by ?? ''), reason: String(input?.reason ?? ''), state: 'running', keys: [], restored: [], timeline: [] };
}

/** The revert's CHANGELOG_ops entry. */
export function revertChangelog(s: ReleaseRevertStatus, plan?: RevertPlan): string {
  const lines = [`## ${revertReleaseTag(s.release)}`, '', `Revert of ${s.release} by ${s.by}: ${s.reason} — ${s.state}.`];
  for (const step of plan?.steps ?? []) {
    const done = s.restored.includes(step.environment);
    lines.push(`- ${step.environment}: ${done ? 'restored' : 'not restored'} ${Object.entries(step.snapshot).map(([k, v]) => `\`${k}\` -> ${v ?? '(default)'}`).join(', ')}`);
  }
  for (const c of s.conflicts ?? []) lines.push(`- conflict: ${c.key} in ${c.environment} holds ${c.live ?? '(default)'} (version ${c.version} by ${c.changedBy}), left as it is`);
  if (s.error) lines.push(`- ${s.error}`);
  return lines.join('\n');
}

/** The release record a revert writes (its own, beside the reverted release's). */
export const revertReleaseTag = (release: string) => `revert-${release}`;

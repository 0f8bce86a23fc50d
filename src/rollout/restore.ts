import type { ConfigValue, Environment, RestoreConflict, RolloutStatus, TimelineEntry } from './types';

/**
 * The rules around what a rollout owns in the config, pure (test/unit/release-revert.test.ts):
 * recording a compare-and-set restore's conflicts, and the live-vs-intended view of
 * `neuro rollout status`. Times are passed in.
 */

export function conflictText(c: RestoreConflict): string {
  const by = c.changedBy ? ` (version ${c.version} by ${c.changedBy} at ${c.changedAt})` : '';
  return `${c.key} in ${c.environment} holds ${show(c.live)}${by}, not ${show(c.wrote)} as the release wrote: left as it is, snapshot ${show(c.snapshot)} not restored`;
}

const show = (v: ConfigValue | null) => (v === null ? '(default)' : JSON.stringify(v));

/** Records a restore's conflicts in the status: the `conflicts` field and one timeline entry per key. */
export function recordConflicts(st: { conflicts?: RestoreConflict[]; timeline: TimelineEntry[] }, conflicts: RestoreConflict[], at: number): void {
  if (!conflicts.length) return;
  st.conflicts = [...(st.conflicts ?? []), ...conflicts];
  for (const c of conflicts) st.timeline.push({ at: new Date(at).toISOString(), event: `restore conflict in ${c.environment}`, detail: conflictText(c) });
}

/** What the database holds for a key right now (effective value: the override, else the default). */
export interface LiveValue {
  value: ConfigValue | null;
  source: 'default' | 'database';
  version: number;
  updatedBy?: string;
  updatedAt?: string;
}

export type KeyState = 'pending' | 'applied' | 'restored' | 'conflict';

export interface LiveRow {
  environment: Environment;
  key: string;
  /** What the rollout means the key to hold now: its value once applied, the old value once restored. */
  intended: ConfigValue | null;
  live: LiveValue | undefined;
  state: KeyState;
  /** The live value differs from the intended one (someone else changed it, or it is not applied yet). */
  differs: boolean;
}

/** One row per changed key and environment: the live value next to the intended one. */
export function liveVsIntended(st: RolloutStatus, live: Partial<Record<Environment, Record<string, LiveValue>>>): LiveRow[] {
  const rows: LiveRow[] = [];
  for (const environment of ['staging', 'production'] as const) {
    const c = st.changes.environments[environment];
    for (const key of Object.keys(st.changes.requested)) {
      const conflict = st.conflicts?.some((x) => x.environment === environment && x.key === key);
      const state: KeyState = !c ? 'pending' : conflict ? 'conflict' : c.restoredAt ? 'restored' : 'applied';
      const intended = !c ? st.changes.requested[key] : state === 'applied' ? (c.after[key] ?? null) : (c.before[key] ?? null);
      const l = live[environment]?.[key];
      rows.push({ environment, key, intended, live: l, state, differs: l === undefined || JSON.stringify(l.value) !== JSON.stringify(intended) });
    }
  }
  return rows;
}

export function liveLine(r: LiveRow): string {
  const l = r.live;
  const live = l ? `${show(l.value)}${l.source === 'database' ? ` (version ${l.version} by ${l.updatedBy})` : ' (default)'}` : 'unknown';
  const what = r.state === 'pending' ? 'to apply' : r.state === 'applied' ? 'intended' : r.state === 'restored' ? 'restored to' : 'conflict; rollout left it, snapshot was';
  return `    ${r.environment.padEnd(10)} ${r.key}: live ${live}, ${what} ${show(r.intended)}${r.differs && r.state !== 'pending' ? '  <- differs' : ''}`;
}

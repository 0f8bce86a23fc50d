import { initialStatus } from '../../src/rollout/decisions';
import { liveLine, liveVsIntended, recordConflicts } from '../../src/rollout/restore';
import { planRevert, RevertRefusedError, type RevertFacts } from '../../src/rollout/revert';
import type { RestoreConflict, RolloutInput } from '../../src/rollout/types';

const KEY = 'STREAMING_BATCH_DELAY_MS';
const STARTED = '2025-03-01T10:00:00.000Z';

function facts(o: Partial<RevertFacts> & { status?: string } = {}): RevertFacts {
  return {
    release: 'v1',
    rollout: {
      status: o.status ?? 'completed',
      startedAt: STARTED,
      finishedAt: '2025-03-01T11:00:00.000Z',
      changes: { [KEY]: 300 },
      snapshot: { staging: { [KEY]: 480 }, production: { [KEY]: null } },
    },
    history: [
      { environment: 'staging', key: KEY, version: 4, changedBy: 'rollout:v1', changedAt: '2025-03-01T10:01:00.000Z' },
      { environment: 'production', key: KEY, version: 2, changedBy: 'rollout:v1', changedAt: '2025-03-01T10:30:00.000Z' },
    ],
    ...o,
  };
}

const refusal = (f: RevertFacts) => {
  try {
    planRevert(f);
  } catch (err) {
    expect(err).toBeInstanceOf(RevertRefusedError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('release revert rules', () => {
  it('restores production first, then staging, compare-and-set against the release values', () => {
    expect(planRevert(facts())).toEqual({
      release: 'v1',
      keys: [KEY],
      steps: [
        { environment: 'production', snapshot: { [KEY]: null }, expected: { [KEY]: 300 } },
        { environment: 'staging', snapshot: { [KEY]: 480 }, expected: { [KEY]: 300 } },
      ],
    });
  });

  it('skips an environment the release never changed', () => {
    const f = facts();
    f.rollout!.snapshot = { staging: { [KEY]: 480 } };
    expect(planRevert(f).steps.map((s) => s.environment)).toEqual(['staging']);
  });

  it('refuses unknown, unfinished and already reverted releases, saying which', () => {
    expect(refusal({ release: 'nope', history: [] })).toMatch(/^no release nope/);
    expect(refusal(facts({ status: 'rolled-back' }))).toMatch(/release v1 is rolled-back, not completed/);
    expect(refusal(facts({ status: 'awaiting-approval' }))).toMatch(/roll the running rollout back instead/);
    expect(refusal(facts({ lastRevert: { workflowId: 'release-revert-v1', by: 'ops', finishedAt: '2025-03-01T12:00:00.000Z' } }))).toMatch(/already reverted by ops/);
    // A revert from before the release was rolled out again does not count.
    expect(planRevert(facts({ lastRevert: { workflowId: 'release-revert-v1', by: 'ops', finishedAt: '2025-02-01T12:00:00.000Z' } })).steps).toHaveLength(2);
  });

  it('refuses when a later change touched a key, naming key, environment, version, who and when', () => {
    const f = facts();
    f.history.push({ environment: 'production', key: KEY, version: 3, changedBy: 'hand', changedAt: '2025-03-02T09:00:00.000Z' });
    expect(refusal(f)).toBe(`revert of v1 refused, a later change touched its keys: ${KEY} in production changed after the release: version 3 by hand at 2025-03-02T09:00:00.000Z`);
  });

  it('a release whose apply wrote nothing (value already there) is refused by any other writer since it started', () => {
    const f = facts();
    f.history = [{ environment: 'staging', key: KEY, version: 5, changedBy: 'kim', changedAt: '2025-03-01T12:00:00.000Z' }];
    expect(refusal(f)).toMatch(/in staging changed after the release: version 5 by kim/);
  });
});

describe('live values next to intended ones', () => {
  const st = initialStatus({ release: 'v1', author: 'a', description: 'd', changes: { [KEY]: 300 }, signOffs: [] } as unknown as RolloutInput, 'rollout-v1');
  const live = (staging: number, production: number) => ({
    staging: { [KEY]: { value: staging, source: 'database' as const, version: 7, updatedBy: 'hand' } },
    production: { [KEY]: { value: production, source: 'default' as const, version: 0 } },
  });

  it('pending before the apply, applied after it, and says when the live value differs', () => {
    st.changes.environments.staging = { snapshot: { [KEY]: null }, before: { [KEY]: 500 }, after: { [KEY]: 300 }, appliedAt: 't' };
    const rows = liveVsIntended(st, live(420, 500));
    expect(rows).toEqual([
      expect.objectContaining({ environment: 'staging', state: 'applied', intended: 300, differs: true }),
      expect.objectContaining({ environment: 'production', state: 'pending', intended: 300, differs: true }),
    ]);
    expect(liveLine(rows[0])).toBe(`    staging    ${KEY}: live 420 (version 7 by hand), intended 300  <- differs`);
    expect(liveLine(rows[1])).toBe(`    production ${KEY}: live 500 (default), to apply 300`);
    expect(liveVsIntended(st, live(300, 500))[0].differs).toBe(false);
  });

  it('restored means the old value is intended; a conflict is recorded in the status and timeline', () => {
    st.changes.environments.staging!.restoredAt = 't2';
    expect(liveVsIntended(st, live(500, 500))[0]).toMatchObject({ state: 'restored', intended: 500, differs: false });
    const c: RestoreConflict = { environment: 'staging', key: KEY, wrote: 300, live: 420, snapshot: null, version: 7, changedBy: 'hand', changedAt: '2025-03-01T10:00:00.000Z' };
    recordConflicts(st, [c], Date.parse('2025-03-01T11:00:00Z'));
    expect(st.conflicts).toEqual([c]);
    expect(st.timeline.at(-1)).toEqual({
      at: '2025-03-01T11:00:00.000Z',
      event: 'restore conflict in staging',
      detail: `${KEY} in staging holds 420 (version 7 by hand at 2025-03-01T10:00:00.000Z), not 300 as the release wrote: left as it is, snapshot (default) not restored`,
    });
    expect(liveVsIntended(st, live(420, 500))[0].state).toBe('conflict');
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listClaims } from '../../src/db/claims';
import { setConfig } from '../../src/db/config-store';
import { appMetrics } from '../../src/ops/metrics';
import type { GateSpec } from '../../src/rollout/types';
import { rollbackUpdate } from '../../src/workflows/messages';
import { testTemporalAddress } from '../helpers/env';
import { rosterTeam, signedRollback } from '../helpers/signers';
import { recordHistory, startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, start, untilStatus } from './rollout.helpers';

/**
 * One release at a time per (environment, key), and rollbacks that restore compare-and-set: the
 * scenario of issue 12 (rollout A delay 300 and rollout B delay 400 on the same key) on the dev
 * server and PostgreSQL.
 */

jest.setTimeout(300_000);
const run = promisify(execFile);
const KEY = 'STREAMING_BATCH_DELAY_MS';
const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');
// One cheap gate: these tests are about who owns the key, not about the measurements.
const GATES: GateSpec[] = [{ gate: 'peak-memory', comparator: '<', threshold: 99 }];
const longSoak = (delay: number) => rehearsal({ set: [`${KEY}=${delay}`], soak: '10m', gates: GATES, forecast: { batchSize: 12, runDate: '2025-03-01' } });

/** The workflow's failure, as the operator reads it. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { cause?: Error & { cause?: Error } };
    return [e.message, e.cause?.message, e.cause?.cause?.message].filter(Boolean).join(': ');
  }
  throw new Error('expected the workflow to fail');
}

describe('release key claims and compare-and-set restores (dev server, PostgreSQL)', () => {
  let stack: Stack;
  const neuro = (...args: string[]) =>
    run(process.execPath, [NEURO, ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: testTemporalAddress(), NEURO_TASK_QUEUE: stack.temporal.taskQueue, DATABASE_URL: stack.db.url, NEURO_IGNORE_DEV_STATE: '1' },
    });
  beforeAll(async () => {
    stack = await startStack({ skus: 24 });
    await rosterTeam(stack.db.pool);
    await setConfig(stack.db.pool, 'staging', { [KEY]: 500 }, 'test');
  });
  afterAll(() => stack?.stop());

  it('rollout B on a key rollout A owns is refused, naming A; once A ends the key is free', async () => {
    const a = longSoak(300);
    const ha = await start(stack, a);
    await untilStatus(ha, (s) => s.changes.environments.staging !== undefined, 'A applied to staging');
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);
    expect((await listClaims(stack.db.pool, a.release)).map((c) => `${c.environment}:${c.key}`).sort()).toEqual([`production:${KEY}`, `staging:${KEY}`]);

    const b = longSoak(400);
    const hb = await start(stack, b);
    const why = await failure(hb.result());
    expect(why).toContain(`rollout ${b.release} refused`);
    expect(why).toContain(`${KEY} (staging, production) is owned`);
    expect(why).toContain(`release ${a.release} (workflow rollout-${a.release}`);
    // B changed nothing and claimed nothing; A's value and A's claims stand.
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);
    expect(await listClaims(stack.db.pool, b.release)).toEqual([]);

    // The CLI's start reports the refusal itself (it waits past the prepare step).
    const c = longSoak(450);
    const cli = neuro('rollout', 'start', '--plan', 'v19.3-batch-delay', '--release', c.release, '--set', `${KEY}=450`, '--soak', '10m', '--author', 'dana-author');
    await expect(cli).rejects.toMatchObject({ stderr: expect.stringContaining(`owned by the unfinished rollout of release ${a.release}`) });

    await ha.executeUpdate(rollbackUpdate, { args: [signedRollback(ha.workflowId, 'end of A')] });
    expect((await ha.result()).state).toBe('rolled-back');
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(500);
    expect(await listClaims(stack.db.pool, a.release)).toEqual([]);

    // The key is free again: the next rollout of it starts.
    const d = longSoak(400);
    const hd = await start(stack, d);
    await untilStatus(hd, (s) => s.changes.environments.staging !== undefined, 'D applied to staging');
    await hd.executeUpdate(rollbackUpdate, { args: [signedRollback(hd.workflowId, 'end of test')] });
    await hd.result();
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(500);
  });

  it('a claim left by a terminated rollout is taken over by the next one; release-claims is the manual way out', async () => {
    const a = longSoak(300);
    const ha = await start(stack, a);
    await untilStatus(ha, (s) => s.stage !== 'prepare', 'A past prepare');
    // `neuro rollout release-claims` refuses while the workflow runs.
    await expect(neuro('rollout', 'release-claims', a.release)).rejects.toMatchObject({ stderr: expect.stringContaining('is still running') });
    await ha.terminate('test: a terminated rollout never gives its claims back');
    expect(await listClaims(stack.db.pool, a.release)).toHaveLength(2);
    const { stdout } = await neuro('rollout', 'claims');
    expect(stdout).toContain('STALE: workflow not running');

    const b = longSoak(400);
    const hb = await start(stack, b);
    await untilStatus(hb, (s) => s.changes.environments.staging !== undefined, 'B applied to staging');
    expect((await listClaims(stack.db.pool)).map((c) => c.release)).toEqual([b.release, b.release]);
    await hb.executeUpdate(rollbackUpdate, { args: [signedRollback(hb.workflowId, 'end of test')] });
    await hb.result();
    // A terminated rollout left its value (300) in staging; B restored what it found.
    await setConfig(stack.db.pool, 'staging', { [KEY]: 500 }, 'test');

    // Claims left behind by a terminated workflow, given back by hand.
    const c = longSoak(350);
    const hc = await start(stack, c);
    await untilStatus(hc, (s) => s.stage !== 'prepare', 'C past prepare');
    await hc.terminate('test');
    const out = await neuro('rollout', 'release-claims', c.release);
    expect(out.stdout).toContain(`released 2 key claim(s) of ${c.release}`);
    expect(await listClaims(stack.db.pool)).toEqual([]);
    await setConfig(stack.db.pool, 'staging', { [KEY]: 500 }, 'test');
  });

  it('rollback after someone set the key by hand keeps the hand-set value, records the conflict and alerts', async () => {
    const conflictsBefore = (await appMetrics.restoreConflicts.get()).values.find((v) => v.labels.environment === 'staging')?.value ?? 0;
    const a = longSoak(300);
    const ha = await start(stack, a);
    await untilStatus(ha, (s) => s.changes.environments.staging !== undefined, 'A applied to staging');
    const set = await neuro('config', 'set', '--env', 'staging', `${KEY}=420`, '--by', 'hand', '--reason', 'hotfix during the soak');
    expect(set.stdout).toContain(`note: ${KEY} in staging is owned by the unfinished rollout of ${a.release}; its rollback will keep this value`);

    // Status shows the live value next to the intended one.
    const status = JSON.parse((await neuro('rollout', 'status', a.release, '--json')).stdout);
    expect(status.live).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ environment: 'staging', key: KEY, intended: 300, state: 'applied', differs: true, live: expect.objectContaining({ value: 420, updatedBy: 'hand' }) }),
        expect.objectContaining({ environment: 'production', key: KEY, intended: 300, state: 'pending' }),
      ]),
    );
    const text = (await neuro('rollout', 'status', a.release)).stdout;
    expect(text).toMatch(/staging\s+STREAMING_BATCH_DELAY_MS: live 420 \(version \d+ by hand\), intended 300 {2}<- differs/);

    const answer = await ha.executeUpdate(rollbackUpdate, { args: [signedRollback(ha.workflowId, 'undo A')] });
    expect(answer).toMatch(/restored nothing/);
    const done = await ha.result();
    // The hand-set value stays; A's snapshot (500) was not written over it.
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(420);
    expect(done.state).toBe('rolled-back');
    expect(done.rollback!.restored).toEqual([]);
    expect(done.conflicts).toEqual([expect.objectContaining({ environment: 'staging', key: KEY, wrote: 300, live: 420, snapshot: 500, changedBy: 'hand' })]);
    expect(done.timeline.find((t) => t.event === 'restore conflict in staging')?.detail).toMatch(/holds 420 .*by hand.*not 300 as the release wrote/);
    const conflictsAfter = (await appMetrics.restoreConflicts.get()).values.find((v) => v.labels.environment === 'staging')?.value ?? 0;
    expect(conflictsAfter).toBe(conflictsBefore + 1);
    expect(await listClaims(stack.db.pool)).toEqual([]);

    const after = JSON.parse((await neuro('rollout', 'status', a.release, '--json')).stdout);
    expect(after.live.find((r: { environment: string }) => r.environment === 'staging')).toMatchObject({ state: 'conflict', live: { value: 420 } });
    await recordHistory('rollout-restore-conflict', ha);
  });
});

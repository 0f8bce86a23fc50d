import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startReleaseRevert } from '../../src/client/starters';
import { listClaims } from '../../src/db/claims';
import { setConfig } from '../../src/db/config-store';
import { revertsOf } from '../../src/db/reverts';
import { getRelease } from '../../src/db/rollouts';
import type { GateSpec } from '../../src/rollout/types';
import { rollbackUpdate } from '../../src/workflows/messages';
import { revertStatusQuery } from '../../src/workflows/release-revert';
import { RELEASE_TAG, STATUS } from '../../src/workflows/search-attributes';
import { testTemporalAddress } from '../helpers/env';
import { rosterTeam, signedRollback, signOffAndGo } from '../helpers/signers';
import { recordHistory, startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, start, untilStatus } from './rollout.helpers';

/** `neuro release revert`: the releaseRevert workflow on the dev server and PostgreSQL. */

jest.setTimeout(300_000);
const run = promisify(execFile);
const KEY = 'STREAMING_BATCH_DELAY_MS';
const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');
const GATES: GateSpec[] = [{ gate: 'peak-memory', comparator: '<', threshold: 99 }];

describe('release revert (dev server, PostgreSQL)', () => {
  let stack: Stack;
  const neuro = (...args: string[]) =>
    run(process.execPath, [NEURO, ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: testTemporalAddress(), NEURO_TASK_QUEUE: stack.temporal.taskQueue, DATABASE_URL: stack.db.url, NEURO_IGNORE_DEV_STATE: '1' },
    });
  /** A rehearsal rollout of KEY=delay taken to completion (staging, sign-offs, GO, production). */
  async function completedRelease(delay: number): Promise<string> {
    // One production cycle: the run-based gates are measured, so monitoring ends without a hold for confirm.
    const input = rehearsal({ set: [`${KEY}=${delay}`], gates: GATES, postDeployPrefetch: false, monitorCycles: 1, forecast: { batchSize: 12, runDate: '2025-03-01' } });
    const h = await start(stack, input);
    await untilStatus(h, (s) => s.stage === 'approval', 'the approval stage');
    await signOffAndGo(h, { reason: 'ok' });
    expect((await h.result()).state).toBe('completed');
    return input.release;
  }
  beforeAll(async () => {
    stack = await startStack({ skus: 24 });
    await rosterTeam(stack.db.pool);
  });
  afterAll(() => stack?.stop());
  beforeEach(async () => {
    await setConfig(stack.db.pool, 'staging', { [KEY]: 480 }, 'test');
    await setConfig(stack.db.pool, 'production', { [KEY]: null }, 'test');
  });

  it('reverts a completed release: production then staging back to the snapshot, recorded, shown in the rollout status', async () => {
    const release = await completedRelease(300);
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    const { stdout } = await neuro('release', 'revert', release, '--by', 'ops-oncall', '--reason', 'p99 latency regression');
    expect(stdout).toContain(`reverted ${release}: restored production, staging (${KEY})`);
    expect(await override(stack.db.pool, 'production', KEY)).toBeNull();
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(480);
    expect(await listClaims(stack.db.pool)).toEqual([]);

    const h = stack.temporal.client.workflow.getHandle(`release-revert-${release}`);
    const s = await h.query(revertStatusQuery);
    expect(s).toMatchObject({ state: 'completed', restored: ['production', 'staging'], by: 'ops-oncall' });
    const desc = await h.describe();
    expect(desc.type).toBe('releaseRevert');
    expect(desc.typedSearchAttributes.get(RELEASE_TAG)).toBe(release);
    expect(desc.typedSearchAttributes.get(STATUS)).toBe('completed');
    expect(await desc.staticSummary()).toBe(`revert of release ${release} by ops-oncall: p99 latency regression`);

    expect((await getRelease(stack.db.pool, `revert-${release}`))?.changelog).toMatch(/Revert of .* by ops-oncall: p99 latency regression — completed[\s\S]*production: restored `STREAMING_BATCH_DELAY_MS` -> \(default\)/);
    const status = JSON.parse((await neuro('rollout', 'status', release, '--json')).stdout);
    expect(status.reverts.at(-1)).toMatchObject({ status: 'completed', requestedBy: 'ops-oncall', reason: 'p99 latency regression' });
    expect(status.live).toEqual(expect.arrayContaining([expect.objectContaining({ environment: 'production', live: expect.objectContaining({ value: 500, source: 'default' }), intended: 300, differs: true })]));
    expect((await neuro('rollout', 'status', release)).stdout).toMatch(/revert: completed — requested by ops-oncall/);

    // Twice is refused.
    await expect(neuro('release', 'revert', release, '--by', 'ops', '--reason', 'again')).rejects.toMatchObject({ stderr: expect.stringContaining(`was already reverted by ops-oncall`) });
    await recordHistory('release-revert', h);
  });

  it('is refused, naming the change, when the key was changed after the release', async () => {
    const release = await completedRelease(350);
    await setConfig(stack.db.pool, 'production', { [KEY]: 320 }, 'hand', 'tuned after the release');
    const version = (await stack.db.pool.query('SELECT max(version) AS v FROM config_history WHERE environment = $1 AND key = $2', ['production', KEY])).rows[0].v;
    const err = await neuro('release', 'revert', release, '--by', 'ops', '--reason', 'undo').then(
      () => undefined,
      (e: { stderr: string }) => e.stderr,
    );
    expect(err).toContain(`revert of ${release} refused, a later change touched its keys: ${KEY} in production changed after the release: version ${version} by hand at `);
    // Nothing was written, the claims are back, and the refusal shows in the release's status.
    expect(await override(stack.db.pool, 'production', KEY)).toBe(320);
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(350);
    expect(await listClaims(stack.db.pool)).toEqual([]);
    expect((await revertsOf(stack.db.pool, release)).at(-1)).toMatchObject({ status: 'refused', requestedBy: 'ops' });
  });

  it('refuses an unknown release and one that did not complete, with a clear message', async () => {
    await expect(neuro('release', 'revert', 'no-such-release', '--by', 'ops', '--reason', 'x')).rejects.toMatchObject({ stderr: expect.stringContaining('no release no-such-release') });

    const input = rehearsal({ set: [`${KEY}=300`], soak: '10m', gates: GATES, forecast: { batchSize: 12, runDate: '2025-03-01' } });
    const h = await start(stack, input);
    await untilStatus(h, (s) => s.changes.environments.staging !== undefined, 'staging applied');
    // Running: its keys are claimed and it is not completed.
    const running = startReleaseRevert(stack.temporal.client, { release: input.release, by: 'ops', reason: 'x' }, stack.temporal.taskQueue).then((r) => r.result());
    await expect(running).rejects.toMatchObject({ cause: { message: expect.stringMatching(/owned by the unfinished rollout of release/) } });
    await h.executeUpdate(rollbackUpdate, { args: [signedRollback(h.workflowId, 'end')] });
    await h.result();
    await expect(neuro('release', 'revert', input.release, '--by', 'ops', '--reason', 'x')).rejects.toMatchObject({
      stderr: expect.stringContaining(`release ${input.release} is rolled-back, not completed: only a completed release can be reverted`),
    });
    expect(await listClaims(stack.db.pool)).toEqual([]);
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { writeReport } from '../../src/client/commands/report';
import { setConfig } from '../../src/db/config-store';
import { gateResultsFor, getRelease, getRollout } from '../../src/db/rollouts';
import type { GateSpec, RolloutInput } from '../../src/rollout/types';
import {
  approveSignal,
  approveUpdate,
  confirmUpdate,
  goUpdate,
  noGoUpdate,
  rollbackUpdate,
  type ApprovePayload,
} from '../../src/workflows/messages';
import { RELEASE_TAG, STAGE, STATUS } from '../../src/workflows/search-attributes';
import { recordHistory, startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, start, status, untilStatus, waitFor, type RolloutHandle, rolloutsFinished } from './rollout.helpers';
import { holderOf, rosterTeam, sign, TEAM } from '../helpers/signers';

jest.setTimeout(300_000);

const KEY = 'STREAMING_BATCH_DELAY_MS';
/**
 * The synthetic catalogue's MAPE (~68%: intermittent SKUs) is far above the plan's 20%, which is
 * for the plan's own data; these rehearsals hold MAPE to "no worse than the pre-change baseline"
 * instead. The other P1 gates are the plan's. 8 batches of 3 SKUs make the 500 -> 300 ms delay
 * visible in the duration gate.
 */
const P1_GATES: GateSpec[] = [
  { gate: 'forecast-duration', comparator: '<', threshold: 84_000, baselineFactor: 1.1 },
  { gate: 'peak-memory', comparator: '<', threshold: 62 },
  { gate: 'mape', comparator: '<', threshold: 1000, baselineFactor: 1.001 },
  { gate: 'cache-hit-rate', comparator: '>', threshold: 99 },
];
const p1 = (o: Parameters<typeof rehearsal>[0] = {}) => rehearsal({ gates: P1_GATES, forecast: { batchSize: 3, runDate: '2025-03-01' }, ...o });
/**
 * Production measured: a forecast cycle in the monitoring window, and no API traffic expected in a
 * test, which this input says (cache-hit-rate mustHaveData: false) rather than leaving it to chance.
 */
const measuredInProduction = (input: RolloutInput): RolloutInput => ({
  ...input,
  monitor: { ...input.monitor, cycles: 1 },
  productionGates: P1_GATES.map((g) => (g.gate === 'cache-hit-rate' ? { ...g, mustHaveData: false } : g)),
});

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return (err as WorkflowUpdateFailedError).cause?.message ?? '';
  }
  throw new Error('expected the update to be refused');
}

/** Every sign-off of the rollout, each signed by the test team's holder of the role. */
async function signOff(h: RolloutHandle): Promise<void> {
  for (const role of (await status(h)).approvals.missing) {
    const holder = holderOf(role);
    await h.executeUpdate(approveUpdate, { args: [sign(h.workflowId, 'approve', { role, by: holder.name, ...(role === 'product-owner' ? { comment: 'scope ok' } : {}) }, holder)] });
  }
}
const goBy = (h: RolloutHandle, p: { by: string; reason: string; acceptInconclusive?: boolean }) => sign(h.workflowId, 'go', p, TEAM[p.by]);
const rollbackBy = (h: RolloutHandle, p: { by: string; reason: string }) => sign(h.workflowId, 'rollback', p, TEAM[p.by]);
const noGoBy = (h: RolloutHandle, p: { by: string; reason: string }) => sign(h.workflowId, 'noGo', p, TEAM[p.by]);

async function historyCount(stack: Stack, env: string, actorLike: string): Promise<number> {
  const { rows } = await stack.db.pool.query('SELECT count(*)::int AS n FROM config_history WHERE environment = $1 AND key = $2 AND changed_by LIKE $3', [
    env,
    KEY,
    actorLike,
  ]);
  return rows[0].n;
}

describe('rollout workflow (dev server, PostgreSQL)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ skus: 24 });
    // The post-deploy prefetch waits PREFETCH_POST_DEPLOY_DELAY_MS (2 min by the plan); not in a test.
    await setConfig(stack.db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: 0 }, 'test');
    await rosterTeam(stack.db.pool);
  });
  afterAll(() => stack?.stop());
  // Each rollout starts from the key on its default in both environments.
  afterEach(async () => {
    await rolloutsFinished(stack.db.pool);
    for (const env of ['staging', 'production']) await setConfig(stack.db.pool, env, { [KEY]: null }, 'test');
  });

  it('happy path: staging, gates, sign-offs, GO, production, monitoring, release record and report', async () => {
    const input = measuredInProduction(p1());
    const h = await start(stack, input);
    const s = await untilStatus(h, (x) => x.stage === 'approval' || x.state !== 'running', 'the approval stage');
    expect(s.state).toBe('awaiting-approval');
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);
    expect(await override(stack.db.pool, 'production', KEY)).toBeNull();
    const gates = Object.fromEntries(s.gates.staging!.map((g) => [g.gate, g]));
    expect(gates['forecast-duration']).toMatchObject({ status: 'pass', samples: 1 });
    expect(gates['forecast-duration'].baseline).toBeGreaterThan(0);
    expect(gates['peak-memory'].status).toBe('pass');
    expect(gates.mape.status).toBe('pass');
    // No traffic in staging: the hit-rate gate has no data and says so; it does not pass.
    expect(gates['cache-hit-rate']).toMatchObject({ status: 'inconclusive', measured: null });

    expect(await refusal(h.executeUpdate(goUpdate, { args: [goBy(h, { by: 'lee', reason: 'ship' })] }))).toMatch(/sign-offs missing: product-owner, devops-lead, security, on-call/);
    await signOff(h);
    expect(await refusal(h.executeUpdate(goUpdate, { args: [goBy(h, { by: 'lee', reason: 'ship' })] }))).toMatch(/gates inconclusive: cache-hit-rate.*acceptInconclusive/);
    expect(await h.executeUpdate(goUpdate, { args: [goBy(h, { by: 'lee', reason: 'gates green; no staging traffic', acceptInconclusive: true })] })).toMatch(/GO recorded/);

    const done = await h.result();
    expect(done).toMatchObject({ state: 'completed', stage: 'done', decision: { kind: 'go', by: 'lee', acceptedInconclusive: ['cache-hit-rate'] } });
    expect(done.changes.environments.production).toMatchObject({ before: { [KEY]: 500 }, after: { [KEY]: 300 } });
    expect(done.gates.production).toHaveLength(P1_GATES.length);
    // Measured by the monitoring cycle; the cache gate had no traffic, which the input allowed, on the record.
    expect(Object.fromEntries(done.gates.production!.map((g) => [g.gate, g.status]))).toEqual({
      'forecast-duration': 'pass',
      'peak-memory': 'pass',
      mape: 'pass',
      'cache-hit-rate': 'inconclusive',
    });
    expect(done.monitorEnd).toMatchObject({ inconclusive: [], allowedInconclusive: ['cache-hit-rate'] });
    expect(done.confirmation).toBeUndefined();
    expect(done.timeline.map((t) => t.event)).not.toContain('stage confirmation');
    expect(done.timeline.map((t) => t.event)).toEqual(expect.arrayContaining(['post-deploy prefetch started', 'post-deploy prefetch done']));
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);

    const rows = await gateResultsFor(stack.db.pool, input.release);
    expect(new Set(rows.map((r) => r.environment))).toEqual(new Set(['staging', 'production']));
    expect((await getRollout(stack.db.pool, input.release))?.status).toBe('completed');
    const release = await getRelease(stack.db.pool, input.release);
    expect(release?.status).toBe('completed');
    expect(release?.changelog).toMatch(/released to production[\s\S]*`STREAMING_BATCH_DELAY_MS`: 500 -> 300/);

    const out = mkdtempSync(join(tmpdir(), 'neuro-report-'));
    try {
      const [report, changelog] = await writeReport(stack.db.pool, { release: input.release, out });
      expect(readFileSync(report, 'utf8')).toMatch(/# Post-deployment report[\s\S]*\| Forecast duration \| PASS/);
      expect(readFileSync(report, 'utf8')).toContain('allowed by the plan to end without data (mustHaveData: false): cache-hit-rate');
      expect(readFileSync(changelog, 'utf8')).toContain(`## ${input.release}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }

    const desc = await h.describe();
    expect(desc.typedSearchAttributes.get(RELEASE_TAG)).toBe(input.release);
    expect(desc.typedSearchAttributes.get(STAGE)).toBe('done');
    expect(desc.typedSearchAttributes.get(STATUS)).toBe('completed');
    expect(await desc.memo).toMatchObject({ author: 'dana-author', state: 'completed' });
    await recordHistory('rollout-happy-path', h);
  });

  it('production gates still inconclusive at the end of monitoring hold the rollout, then roll it back at the deadline', async () => {
    await setConfig(stack.db.pool, 'production', { [KEY]: 450 }, 'test');
    const input = p1({ confirmTimeout: '4s' });
    const h = await start(stack, input);
    await untilStatus(h, (s) => s.stage === 'approval', 'the approval stage');
    await signOff(h);
    await h.executeUpdate(goUpdate, { args: [goBy(h, { by: 'lee', reason: 'staging green', acceptInconclusive: true })] });
    // No cycle and no traffic in the 1 s window: nothing measured in production.
    const held = await untilStatus(h, (s) => s.state !== 'running', 'the hold after monitoring');
    expect(held).toMatchObject({ stage: 'confirmation', state: 'awaiting-confirmation' });
    expect(held.monitorEnd).toMatchObject({ inconclusive: ['forecast-duration', 'peak-memory', 'mape', 'cache-hit-rate'], allowedInconclusive: [] });
    expect(Date.parse(held.deadlines.confirmDeadline!) - Date.parse(held.monitorEnd!.at)).toBe(4000);
    // Still in production while it waits; a NO-GO is no longer possible, a rollback or a confirm is.
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    expect(await refusal(h.executeUpdate(noGoUpdate, { args: [{ by: 'pat', reason: 'no' }] }))).toMatch(/already promoted/);
    expect(await refusal(h.executeUpdate(confirmUpdate, { args: [{ by: 'lee' } as never] }))).toMatch(/"reason" is required/);
    expect((await getRollout(stack.db.pool, input.release))?.status).toBe('awaiting-confirmation');
    const desc = await h.describe();
    expect(desc.typedSearchAttributes.get(STATUS)).toBe('awaiting-confirmation');

    const done = await h.result();
    expect(done).toMatchObject({ state: 'rolled-back', rollback: { by: 'system', automatic: true, restored: ['production', 'staging'] } });
    expect(done.rollback!.reason).toBe(
      `no confirm by the deadline ${held.deadlines.confirmDeadline} (4 s after monitoring ended); production gates inconclusive: forecast-duration, peak-memory, mape, cache-hit-rate`,
    );
    expect(Date.parse(done.rollback!.requestedAt)).toBeGreaterThanOrEqual(Date.parse(held.deadlines.confirmDeadline!));
    expect(done.confirmation).toBeUndefined();
    expect(await override(stack.db.pool, 'production', KEY)).toBe(450);
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
    const release = await getRelease(stack.db.pool, input.release);
    expect(release?.status).toBe('rolled-back');
    expect(release?.report).toMatch(/Production monitoring ended at .* with gates inconclusive: forecast-duration, peak-memory, mape, cache-hit-rate \(held for confirmation until/);
    expect(release?.report).toMatch(/## Rollback\n\n- Automatic by system at .*: no confirm by the deadline/);
  });

  it('confirm releases a rollout held on inconclusive gates, recorded like a GO', async () => {
    const input = p1({ confirmTimeout: '10m' });
    const h = await start(stack, input);
    await untilStatus(h, (s) => s.stage === 'approval', 'the approval stage');
    expect(await refusal(h.executeUpdate(confirmUpdate, { args: [{ by: 'lee', reason: 'early' }] }))).toMatch(/state now: awaiting-approval, stage approval/);
    await signOff(h);
    await h.executeUpdate(goUpdate, { args: [goBy(h, { by: 'lee', reason: 'staging green', acceptInconclusive: true })] });
    await untilStatus(h, (s) => s.state === 'awaiting-confirmation', 'awaiting confirmation');
    const answer = await h.executeUpdate(confirmUpdate, { args: [sign(h.workflowId, 'confirm', { by: 'lee', reason: 'no forecast run expected in a 1 s window' }, TEAM.lee)] });
    expect(answer).toBe(`confirmed by lee: releasing ${input.release} with inconclusive production gates forecast-duration, peak-memory, mape, cache-hit-rate`);
    const done = await h.result();
    expect(done).toMatchObject({
      state: 'completed',
      decision: { kind: 'go', by: 'lee', acceptedInconclusive: ['cache-hit-rate'] },
      confirmation: { kind: 'confirm', by: 'lee', reason: 'no forecast run expected in a 1 s window', acceptedInconclusive: ['forecast-duration', 'peak-memory', 'mape', 'cache-hit-rate'] },
    });
    expect(done.rollback).toBeUndefined();
    expect(done.timeline.map((t) => t.event)).toEqual(expect.arrayContaining(['monitoring ended inconclusive', 'stage confirmation', 'confirmed', 'stage release']));
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    const release = await getRelease(stack.db.pool, input.release);
    expect(release?.status).toBe('completed');
    expect(release?.changelog).toContain('- Confirmed with inconclusive production gates (forecast-duration, peak-memory, mape, cache-hit-rate) by lee — no forecast run expected in a 1 s window');
    expect(release?.report).toMatch(/\*\*CONFIRM\*\* by lee at .*: no forecast run expected in a 1 s window\n {2}- accepted inconclusive gates: forecast-duration, peak-memory, mape, cache-hit-rate/);
    const { rows } = await stack.db.pool.query('SELECT decision FROM rollouts WHERE release = $1', [input.release]);
    expect(rows[0].decision.confirmation).toMatchObject({ kind: 'confirm', by: 'lee' });
    await recordHistory('rollout-confirm-inconclusive', h);
  });

  it('a failed staging gate rolls back automatically and restores the config', async () => {
    const input = p1({ gates: [...P1_GATES, { gate: 'peak-memory', comparator: '<', threshold: 0.001 }] });
    const h = await start(stack, input);
    const done = await h.result();
    expect(done).toMatchObject({ state: 'rolled-back', rollback: { automatic: true, restored: ['staging'] } });
    expect(done.rollback!.reason).toMatch(/gate failed in staging: peak-memory/);
    expect(done.changes.environments.production).toBeUndefined();
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
    expect(await override(stack.db.pool, 'production', KEY)).toBeNull();
    const failed = (await gateResultsFor(stack.db.pool, input.release)).filter((g) => g.status === 'fail');
    expect(failed.map((g) => g.gate)).toEqual(['peak-memory']);
    expect((await getRelease(stack.db.pool, input.release))?.report).toMatch(/## Rollback[\s\S]*Automatic/);
    await recordHistory('rollout-gate-failed', h);
  });

  it('rollback mid-soak restores staging; the Update answers once restored', async () => {
    await setConfig(stack.db.pool, 'staging', { [KEY]: 480 }, 'test');
    const h = await start(stack, p1({ soak: '10m' }));
    await untilStatus(h, (s) => s.timeline.some((t) => t.event.startsWith('gates staging')), 'the first staging gate check');
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);
    const answer = await h.executeUpdate(rollbackUpdate, { args: [rollbackBy(h, { by: 'ops-oncall', reason: 'memory creeping' })] });
    expect(answer).toMatch(/restored staging in \d+ ms/);
    // Restored by the time the Update returns: back to the override it had before (480), not the default.
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(480);
    const done = await h.result();
    expect(done).toMatchObject({ state: 'rolled-back', rollback: { by: 'ops-oncall', reason: 'memory creeping', automatic: false, restored: ['staging'] } });
  });

  it('rollback after promotion restores production, then staging', async () => {
    await setConfig(stack.db.pool, 'production', { [KEY]: 450 }, 'test');
    const h = await start(stack, p1({ monitor: '10m' }));
    await untilStatus(h, (s) => s.stage === 'approval', 'the approval stage');
    await signOff(h);
    await h.executeUpdate(goUpdate, { args: [goBy(h, { by: 'lee', reason: 'ok', acceptInconclusive: true })] });
    await untilStatus(h, (s) => s.stage === 'monitor', 'production monitoring');
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    expect(await refusal(h.executeUpdate(noGoUpdate, { args: [noGoBy(h, { by: 'pat', reason: 'too late' })] }))).toMatch(/already promoted/);
    await h.executeUpdate(rollbackUpdate, { args: [rollbackBy(h, { by: 'ops-oncall', reason: 'p99 latency up' })] });
    expect(await override(stack.db.pool, 'production', KEY)).toBe(450);
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
    const done = await h.result();
    expect(done.rollback).toMatchObject({ restored: ['production', 'staging'] });
    expect(done.rollback!.durationMs).toBeGreaterThanOrEqual(0);
    expect(done.state).toBe('rolled-back');
    await recordHistory('rollout-rollback-after-promotion', h);
  });

  it('NO-GO restores staging and never touches production; refused signals change nothing', async () => {
    const h = await start(stack, p1());
    await untilStatus(h, (s) => s.stage === 'approval', 'the approval stage');
    // Signals cannot answer: refused ones are recorded in the status, and nothing changes.
    await h.signal(approveSignal, 'oops' as unknown as ApprovePayload);
    await h.signal(approveSignal, sign(h.workflowId, 'approve', { role: 'devops-lead', by: 'dana-author' }, TEAM.lee));
    const s = await untilStatus(h, (x) => x.rejected.length >= 2, 'the refused signals');
    expect(s.rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/must be a JSON object/), expect.stringMatching(/is the author .* may not approve/)]);
    expect(s.approvals.received).toEqual([]);
    await h.executeUpdate(noGoUpdate, { args: [noGoBy(h, { by: 'pat', reason: 'wait for v19.4' })] });
    const done = await h.result();
    expect(done).toMatchObject({ state: 'no-go', decision: { kind: 'no-go', by: 'pat' }, rollback: { restored: ['staging'] } });
    expect(done.changes.environments.production).toBeUndefined();
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
  });

  it('approval timeout is a NO-GO', async () => {
    const h = await start(stack, p1({ approvalTimeout: '1s' }));
    const done = await h.result();
    expect(done).toMatchObject({ state: 'no-go', decision: { kind: 'no-go', by: 'system' } });
    expect(done.decision!.reason).toMatch(/no GO within the approval timeout.*missing sign-offs: product-owner, devops-lead, security, on-call/);
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
  });

  it('self-approval, unknown roles, double sign-offs and malformed payloads are refused with a reason', async () => {
    const h = await start(stack, p1({ soak: '10m' }));
    await untilStatus(h, (s) => s.stage !== 'prepare', 'the rollout to start');
    const approve = (p: unknown) => refusal(h.executeUpdate(approveUpdate, { args: [p as ApprovePayload] }));
    const signedApprove = (p: { role: string; by: string }) => refusal(h.executeUpdate(approveUpdate, { args: [sign(h.workflowId, 'approve', p, TEAM[p.by])] }));
    expect(await approve({ role: 'devops-lead', by: 'Dana-Author' })).toMatch(/is the author .* may not approve/);
    expect(await approve({ role: 'ceo', by: 'x' })).toMatch(/unknown sign-off role "ceo" \(required: product-owner, devops-lead, security, on-call\)/);
    expect(await approve({ role: 'devops-lead' })).toMatch(/"by" \(who approves\) is required/);
    expect(await approve(42)).toMatch(/payload must be a JSON object/);
    expect(await approve({ role: 'devops-lead', by: 'lee', comment: 7 })).toMatch(/"comment" must be a string/);
    await h.executeUpdate(approveUpdate, { args: [sign(h.workflowId, 'approve', { role: 'devops-lead', by: 'lee' }, TEAM.lee)] });
    expect(await approve({ role: 'devops-lead', by: 'kim' })).toMatch(/devops-lead already signed off by lee/);
    expect(await approve({ role: 'product-owner', by: 'lee' })).toMatch(/lee already signed off as devops-lead/);
    // Signed, but for a role the signer does not hold: refused after the roster look-up, and recorded.
    expect(await signedApprove({ role: 'security', by: 'pat' })).toMatch(/pat does not hold the role security \(roster roles: product-owner\)/);
    expect(await refusal(h.executeUpdate(goUpdate, { args: [goBy(h, { by: 'lee', reason: 'x' })] }))).toMatch(/GO is possible once the staging soak/);
    expect(await refusal(h.executeUpdate(rollbackUpdate, { args: [{ by: 'lee' } as never] }))).toMatch(/"reason" is required/);
    const s = await status(h);
    expect(s.approvals).toMatchObject({ received: [expect.objectContaining({ role: 'devops-lead', by: 'lee' })], missing: ['product-owner', 'security', 'on-call'] });
    expect(s.rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/pat does not hold the role security/)]);
    await h.executeUpdate(rollbackUpdate, { args: [rollbackBy(h, { by: 'lee', reason: 'end of test' })] });
    expect((await h.result()).state).toBe('rolled-back');
  });

  it('refuses a bad change set before anything is applied', async () => {
    const input = p1();
    const bad = { ...input, changes: { [KEY]: 'fast' } } as unknown as RolloutInput;
    const h = await start(stack, bad);
    await expect(h.result()).rejects.toThrow(/Workflow execution failed/);
    const desc = await waitFor(async () => ((await h.describe()).status.name === 'FAILED' ? h.describe() : undefined), 'the failure');
    expect(desc.status.name).toBe('FAILED');
    try {
      await h.result();
    } catch (err) {
      expect(String((err as Error & { cause?: Error }).cause?.message)).toMatch(/STREAMING_BATCH_DELAY_MS: "fast" refused/);
    }
    expect(await historyCount(stack, 'staging', `rollout:${input.release}`)).toBe(0);
  });
});

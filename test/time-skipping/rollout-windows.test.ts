import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { forecastTaskQueue } from '../../src/config/task-queues';
import { planToInput, type PlanOverrides } from '../../src/rollout/input';
import type { RolloutStatus } from '../../src/rollout/types';
import { buildWorkflowBundle } from '../../src/workers/worker';
import { approveSignal, confirmSignal, goSignal, promoteSignal, rollbackSignal, statusQuery } from '../../src/workflows/messages';
import { postDeployPrefetch, rollout } from '../../src/workflows';
import { fakeActivities, type CallRecord } from '../helpers/fake-activities';
import { holderOf, sign, TEAM } from '../helpers/signers';
import { timeSkippingEnvironment } from '../helpers/time-skipping';

/**
 * The plan's windows at their real lengths, on the time-skipping test server with fake activities:
 * P1's 24 h soak with 6-hourly checks and 3 cycles, P2's 48 h with 2 daily cycles and prefetches,
 * P3's 7 days with a daily cycle, the 72 h approval timeout, a GO at hour 71, a rollback at hour 30
 * and the 2-minute post-deploy timer. Times are asserted in workflow time (hours after staging's apply).
 */

const H = 3_600_000;
const MIN = 60_000;
let env: TestWorkflowEnvironment;
let bundle: { code: string };

beforeAll(async () => {
  [env, bundle] = await Promise.all([timeSkippingEnvironment(), buildWorkflowBundle()]);
}, 120_000);
afterAll(async () => {
  await env?.teardown();
});

let seq = 0;
/** Runs `body` with workers on both task queues serving the real workflows and the fakes. */
async function withWorkers<T>(fakes: ReturnType<typeof fakeActivities>, body: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `ts-${++seq}`;
  const base = { connection: env.nativeConnection, activities: fakes.activities };
  const workers = await Promise.all([
    Worker.create({ ...base, taskQueue, workflowBundle: bundle }),
    Worker.create({ ...base, taskQueue: forecastTaskQueue(taskQueue) }),
  ]);
  const [first, second] = workers;
  return first.runUntil(second.runUntil(body(taskQueue)));
}

function start(taskQueue: string, plan: string, o: Partial<PlanOverrides> = {}) {
  const input = planToInput(plan, { author: 'dana-author', release: `${plan}-${seq}`, ...o });
  return env.client.workflow.start(rollout, { taskQueue, workflowId: `rollout-${input.release}`, args: [input] });
}

/** Hours after staging's config apply at which the named activity ran, to the minute. */
function hoursOf(calls: CallRecord[], name: string, environment?: string): number[] {
  const applied = calls.find((c) => c.name === 'applyConfig' && (c.input as { environment: string }).environment === 'staging')!.at;
  return calls
    .filter((c) => c.name === name && (!environment || (c.input as { environment?: string }).environment === environment))
    .map((c) => Math.round(((c.at - applied) / H) * 60) / 60 || 0);
}

async function signOffAndGo(h: Awaited<ReturnType<typeof start>>, roles: string[]) {
  // Signed by the role holders of the test team; the fakes verify against that roster for real.
  for (const role of roles) await h.signal(approveSignal, sign(h.workflowId, 'approve', { role, by: holderOf(role).name }, holderOf(role)));
  await h.signal(goSignal, sign(h.workflowId, 'go', { by: 'lee', reason: 'staging passed', acceptInconclusive: true }, TEAM.lee));
}

/** Waits (skipping time, half an hour a step) until the rollout reaches a state. */
async function untilState(h: Awaited<ReturnType<typeof start>>, state: RolloutStatus['state']) {
  for (let i = 0; i < 400; i++) {
    if ((await h.query(statusQuery)).state === state) return;
    await env.sleep('30 minutes');
  }
  throw new Error(`rollout never reached ${state}`);
}

test('P1: 24 h soak, checks every 6 h on the grid, 3 cycles; GO at hour 71 of the 72 h approval window; 24 h monitor', async () => {
  const fakes = fakeActivities();
  const status = await withWorkers(fakes, async (tq) => {
    const h = await start(tq, 'v19.3-batch-delay');
    await untilState(h, 'awaiting-approval');
    const approvalStart = Date.parse((await h.query(statusQuery)).timeline.find((e) => e.event === 'stage approval')!.at);
    // Skip to hour 71 of the approval window (workflow time), then sign off and GO.
    await env.sleep(approvalStart + 71 * H - (await env.currentTimeMs()));
    const before = await h.query(statusQuery);
    expect(before.state).toBe('awaiting-approval');
    await signOffAndGo(h, before.approvals.required);
    return h.result();
  });
  expect(status.state).toBe('completed');
  // Staging: a cycle (then gates) at 0, 8 and 16 h; checks at 6, 12, 18 h; the final check at 24 h.
  expect(hoursOf(fakes.calls, 'prepareForecastRun', 'staging')).toEqual([0, 0, 8, 16]); // baseline, then 3 cycles
  expect(hoursOf(fakes.calls, 'evaluateRolloutGates', 'staging')).toEqual([0, 6, 8, 12, 16, 18, 24]);
  // GO at 24 h + 71 h = 95 h: production applied then, checked at +6, +12, +18 and at +24 h.
  expect(hoursOf(fakes.calls, 'applyConfig', 'production')).toEqual([95]);
  expect(hoursOf(fakes.calls, 'evaluateRolloutGates', 'production')).toEqual([101, 107, 113, 119]);
  // The deploy hook's durable 2-minute timer: the post-deploy prefetch runs 2 minutes after promotion.
  const [prefetchAt] = hoursOf(fakes.calls, 'prefetchTopQueries');
  expect(Math.round((prefetchAt - 95) * 60)).toBe(2);
  // The approval deadline counts from the end of the soak (the approval stage's start), not from the start.
  const deadlineAfterSoak = Date.parse(status.deadlines.approvalDeadline!) - Date.parse(status.deadlines.soakEndsAt!);
  expect(deadlineAfterSoak).toBeGreaterThanOrEqual(72 * H);
  expect(deadlineAfterSoak).toBeLessThan(72 * H + MIN);
}, 120_000);

test('P1: production gates without data at the end of the 24 h monitor hold it 24 h for confirm, then roll it back at the deadline', async () => {
  const fakes = fakeActivities({ gateVerdict: ({ environment }) => (environment === 'production' ? 'inconclusive' : 'pass') });
  const status = await withWorkers(fakes, async (tq) => {
    const h = await start(tq, 'v19.3-batch-delay');
    await untilState(h, 'awaiting-approval');
    await signOffAndGo(h, (await h.query(statusQuery)).approvals.required);
    await untilState(h, 'awaiting-confirmation');
    const held = await h.query(statusQuery);
    expect(held.stage).toBe('confirmation');
    expect(Date.parse(held.deadlines.confirmDeadline!) - Date.parse(held.monitorEnd!.at)).toBe(24 * H);
    return h.result();
  });
  expect(status.state).toBe('rolled-back');
  // Promoted, monitored 24 h (checks every 6 h), held 24 h, then production restored: 48 h after promotion.
  const [promoted] = hoursOf(fakes.calls, 'applyConfig', 'production');
  const [restored] = hoursOf(fakes.calls, 'restoreConfig', 'production');
  expect(hoursOf(fakes.calls, 'evaluateRolloutGates', 'production').map((h) => h - promoted)).toEqual([6, 12, 18, 24]);
  expect(restored - promoted).toBe(48);
  expect(status.rollback).toMatchObject({ by: 'system', automatic: true, restored: ['production', 'staging'] });
  expect(status.rollback!.reason).toMatch(/^no confirm by the deadline \S+ \(24 h after monitoring ended\); production gates inconclusive: forecast-duration, peak-memory, mape, cache-hit-rate, gc-pause, stability-score, incidents$/);
  expect(Date.parse(status.rollback!.requestedAt) - Date.parse(status.deadlines.confirmDeadline!)).toBeLessThan(MIN);
  expect(fakes.config.production.STREAMING_BATCH_DELAY_MS).toBe(500);
}, 120_000);

test('P1: a confirm signal at hour 23 of the hold releases it, recorded', async () => {
  const fakes = fakeActivities({ gateVerdict: ({ environment }) => (environment === 'production' ? 'inconclusive' : 'pass') });
  const status = await withWorkers(fakes, async (tq) => {
    const h = await start(tq, 'v19.3-batch-delay');
    await untilState(h, 'awaiting-approval');
    await signOffAndGo(h, (await h.query(statusQuery)).approvals.required);
    await untilState(h, 'awaiting-confirmation');
    const endedAt = Date.parse((await h.query(statusQuery)).monitorEnd!.at);
    await env.sleep(endedAt + 23 * H - (await env.currentTimeMs()));
    await h.signal(confirmSignal, sign(h.workflowId, 'confirm', { by: 'lee', reason: 'no traffic on a holiday; checked the dashboards' }, TEAM.lee));
    return h.result();
  });
  expect(status.state).toBe('completed');
  expect(status.confirmation).toMatchObject({ by: 'lee', acceptedInconclusive: expect.arrayContaining(['mape', 'cache-hit-rate']) });
  expect(Math.round((Date.parse(status.confirmation!.at) - Date.parse(status.monitorEnd!.at)) / H)).toBe(23);
  expect(hoursOf(fakes.calls, 'applyConfig', 'production')).toHaveLength(1);
  expect(fakes.config.production.STREAMING_BATCH_DELAY_MS).toBe(300);
}, 120_000);

test('P1: no GO within 72 h of the approval stage ends in NO-GO, exactly at the deadline, staging restored', async () => {
  const fakes = fakeActivities();
  const status = await withWorkers(fakes, async (tq) => (await start(tq, 'v19.3-batch-delay')).result());
  expect(status.state).toBe('no-go');
  expect(status.decision).toMatchObject({ kind: 'no-go', by: 'system' });
  expect(Date.parse(status.decision!.at) - Date.parse(status.deadlines.approvalDeadline!)).toBeLessThan(MIN);
  expect(Date.parse(status.decision!.at) - Date.parse(status.deadlines.soakEndsAt!)).toBeGreaterThanOrEqual(72 * H);
  expect(status.rollback?.restored).toEqual(['staging']);
  expect(fakes.config.staging.STREAMING_BATCH_DELAY_MS).toBe(500);
  expect(hoursOf(fakes.calls, 'applyConfig', 'production')).toEqual([]);
}, 120_000);

test('P2: 48 h validation with 2 daily cycles, each followed by a prefetch; rollback signal at hour 30 restores staging', async () => {
  const fakes = fakeActivities();
  const status = await withWorkers(fakes, async (tq) => {
    const h = await start(tq, 'v19.3-prefetch');
    await untilState(h, 'running');
    const applied = () => fakes.calls.find((c) => c.name === 'applyConfig');
    for (let i = 0; i < 100 && !applied(); i++) await env.sleep('1 second');
    // A minute into hour 30, so the signal does not land in the same workflow task as the 30 h check
    // (the Java test server rejects a task that schedules and cancels one activity together).
    await env.sleep(applied()!.at + 30 * H + MIN - (await env.currentTimeMs()));
    await h.signal(rollbackSignal, sign(h.workflowId, 'rollback', { by: 'ops-oncall', reason: 'hit rate dipped at hour 30' }, TEAM['ops-oncall']));
    return h.result();
  });
  expect(status.state).toBe('rolled-back');
  expect(hoursOf(fakes.calls, 'prepareForecastRun', 'staging')).toEqual([0, 24]);
  expect(hoursOf(fakes.calls, 'prefetchTopQueries')).toEqual([0, 24]);
  // Checks every 6 h (the one due with the day-2 cycle is that cycle's) up to the rollback in hour 30;
  // nothing after it, nothing in production.
  expect(hoursOf(fakes.calls, 'evaluateRolloutGates')).toEqual([0, 6, 12, 18, 24, 30]);
  expect(Math.round((Date.parse(status.rollback!.requestedAt) - Date.parse(status.changes.environments.staging!.appliedAt)) / H)).toBe(30);
  expect(status.rollback?.restored).toEqual(['staging']);
  expect(fakes.config.staging.PREFETCH_TOP_N_QUERIES).toBe(50);
}, 120_000);

test('P3: 7-day validation with a daily cycle and daily checks, gates at the right moments, history bounded', async () => {
  const fakes = fakeActivities();
  let historyEvents = 0;
  const status = await withWorkers(fakes, async (tq) => {
    const h = await start(tq, 'v19.3-hybrid-ml', { cohorts: false });
    await untilState(h, 'awaiting-approval');
    await signOffAndGo(h, (await h.query(statusQuery)).approvals.required);
    const result = await h.result();
    historyEvents = (await h.fetchHistory()).events?.length ?? 0;
    return result;
  });
  expect(status.state).toBe('completed');
  expect(hoursOf(fakes.calls, 'prepareForecastRun', 'staging')).toEqual([0, 0, 24, 48, 72, 96, 120, 144]); // baseline + 7 daily
  // The gates after each daily cycle (the daily check falls on the same grid point) and at 7 days.
  expect(hoursOf(fakes.calls, 'evaluateRolloutGates', 'staging')).toEqual([0, 24, 48, 72, 96, 120, 144, 168]);
  // The automatic fallback is checked with every gate check, then every 6 h of the 7-day guard after the 24 h monitoring.
  expect(hoursOf(fakes.calls, 'hybridFallbackCheck', 'staging')).toEqual([0, 24, 48, 72, 96, 120, 144, 168]);
  const guardChecks = hoursOf(fakes.calls, 'hybridFallbackCheck', 'production');
  const promoted = hoursOf(fakes.calls, 'applyConfig', 'production')[0];
  expect(guardChecks.slice(-28).map((h) => Math.round(h - promoted))).toEqual(Array.from({ length: 28 }, (_, i) => 24 + 6 * (i + 1)));
  // the guard starts once monitoring's last check is done (milliseconds later)
  expect(Date.parse(status.deadlines.guardEndsAt!) - Date.parse(status.deadlines.monitorEndsAt!) - 7 * 24 * H).toBeGreaterThanOrEqual(0);
  expect(Date.parse(status.deadlines.guardEndsAt!) - Date.parse(status.deadlines.monitorEndsAt!) - 7 * 24 * H).toBeLessThan(60_000);
  // Two weeks of rollout (children aside) stay a small history: about 10 events per check.
  expect(historyEvents).toBeLessThan(800);
}, 120_000);

test('P3: the post-completion guard falls back by itself when a later run breaches HYBRID_FALLBACK_MAPE', async () => {
  // Production's hybrid MAPE is fine for 3 days after monitoring, then 27%.
  const promotedAt = () => fakes.calls.find((c) => c.name === 'applyConfig' && (c.input as { environment: string }).environment === 'production')?.at;
  const fakes = fakeActivities({ hybridMape: ({ environment, at }) => (environment === 'production' && at - (promotedAt() ?? at) > (24 + 72) * H ? 27 : 10) });
  const status = await withWorkers(fakes, async (tq) => {
    const h = await start(tq, 'v19.3-hybrid-ml', { cohorts: false });
    await untilState(h, 'awaiting-approval');
    await signOffAndGo(h, (await h.query(statusQuery)).approvals.required);
    return h.result().catch(async () => h.query(statusQuery));
  });
  expect(status.state).toBe('rolled-back');
  expect(status.rollback).toMatchObject({ automatic: true, by: 'rollout', restored: ['production', 'staging'] });
  expect(status.rollback!.reason).toBe('hybrid fallback in production: MAPE 27.00% > HYBRID_FALLBACK_MAPE 20%');
  const breachHour = (Date.parse(status.rollback!.requestedAt) - Date.parse(status.changes.environments.production!.appliedAt)) / H;
  expect(breachHour).toBeGreaterThan(24 + 72);
  expect(breachHour).toBeLessThanOrEqual(24 + 78); // the first 6-hourly guard check after the breach
}, 120_000);

test('P3 in cohort steps: top 5 outliers, every flagged outlier, then the catalogue; 24 h each, a signed promote between', async () => {
  const fakes = fakeActivities();
  const status = await withWorkers(fakes, async (tq) => {
    const h = await start(tq, 'v19.3-hybrid-ml', { guard: '0' });
    await untilState(h, 'awaiting-approval');
    await signOffAndGo(h, (await h.query(statusQuery)).approvals.required);
    for (const next of ['flagged-outliers', 'catalogue']) {
      await untilState(h, 'awaiting-promotion');
      expect((await h.query(statusQuery)).steps!.find((x) => x.state === 'awaiting-promotion')!.name).toBe(next);
      await env.sleep('5 hours'); // someone looks at the step's figures, then promotes
      await h.signal(promoteSignal, sign(h.workflowId, 'promote', { by: 'lee', reason: `step passed, on to ${next}` }, TEAM.lee));
    }
    return h.result();
  });
  expect(status.state).toBe('completed');
  expect(status.steps!.map((x) => [x.name, x.state, x.skus === 'all' ? 'all' : x.skus.length])).toEqual([
    ['top-5-outliers', 'passed', 5],
    ['flagged-outliers', 'passed', 9],
    ['catalogue', 'passed', 'all'],
  ]);
  expect(status.steps![0].promotedBy).toMatchObject({ by: 'rollout', automatic: true });
  expect(status.steps![1].promotedBy).toMatchObject({ by: 'lee', automatic: false, reason: 'step passed, on to flagged-outliers' });
  // Staging keeps serving what it serves (the hybrid is the shadow challenger); production gets the change set at the catalogue step.
  const applied = fakes.calls.filter((c) => c.name === 'applyConfig').map((c) => c.input as { environment: string; changes: Record<string, unknown> });
  expect(applied.map((a) => [a.environment, 'ENABLE_HYBRID_FORECASTING' in a.changes])).toEqual([['staging', false], ['production', true]]);
  // Each step watched 24 h, then held for promote (found within half an hour, plus the 5 h).
  const [step1, step2] = hoursOf(fakes.calls, 'assignCohort', 'production');
  const step3 = hoursOf(fakes.calls, 'applyConfig', 'production')[0];
  for (const gap of [step2 - step1, step3 - step2]) {
    expect(gap).toBeGreaterThanOrEqual(29);
    expect(gap).toBeLessThanOrEqual(29.6);
  }
  // The outlier gates of a cohort step are measured on its cohort too; the catalogue step's on the catalogue.
  const cohortsOfChecks = fakes.calls
    .filter((c) => c.name === 'evaluateRolloutGates' && (c.input as { environment: string }).environment === 'production')
    .map((c) => (c.input as { cohort?: { name: string } }).cohort?.name ?? 'catalogue');
  expect([...new Set(cohortsOfChecks)]).toEqual(['top-5-outliers', 'flagged-outliers', 'catalogue']);
}, 120_000);

test('postDeployPrefetch: the 2-minute durable timer, then the prefetch child', async () => {
  const fakes = fakeActivities();
  const result = await withWorkers(fakes, async (taskQueue) =>
    env.client.workflow.execute(postDeployPrefetch, { taskQueue, workflowId: `post-deploy-ts-${seq}`, args: [{ environment: 'production', deployId: 'd-1' }] }),
  );
  const [config, run] = [fakes.calls.find((c) => c.name === 'getConfig')!, fakes.calls.find((c) => c.name === 'prefetchTopQueries')!];
  expect(result.delayMs).toBe(2 * MIN);
  expect(run.at - config.at).toBeGreaterThanOrEqual(2 * MIN);
  expect(run.at - config.at).toBeLessThan(2 * MIN + 5000);
}, 120_000);


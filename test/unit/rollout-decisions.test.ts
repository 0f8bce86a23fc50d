import * as rules from '../../src/rollout/decisions';
import type { GateResult, RolloutInput } from '../../src/rollout/types';

const T = Date.parse('2025-03-01T00:00:00Z');
const H = 3_600_000;

function run(stage: 'validate' | 'approval' | 'monitor' = 'approval'): rules.RolloutRun {
  const st = rules.initialStatus({ release: 'v1', author: 'Dana', description: 'd', changes: { STREAMING_BATCH_DELAY_MS: 300 }, signOffs: ['product-owner', 'devops-lead'] } as unknown as RolloutInput, 'rollout-v1');
  st.stage = stage;
  return { st, goDecided: false };
}
const gate = (status: GateResult['status']) => ({ gate: 'cache-hit-rate', status, detail: 'no requests' }) as GateResult;

describe('rollout message rules', () => {
  it('refuses malformed approvals, naming what is wrong', () => {
    const r = run();
    expect(rules.refuseApprove(r, 'yes')).toMatch(/JSON object/);
    expect(rules.refuseApprove(r, { by: 'x' })).toMatch(/"role" is required \(one of: product-owner, devops-lead\)/);
    expect(rules.refuseApprove(r, { role: 'product-owner' })).toMatch(/"by"/);
    expect(rules.refuseApprove(r, { role: 'cto', by: 'x' })).toMatch(/unknown sign-off role "cto"/);
    expect(rules.refuseApprove(r, { role: 'product-owner', by: 'x', comment: 5 })).toMatch(/comment/);
  });

  it('refuses the author, a role twice and one person for two roles', () => {
    const r = run();
    expect(rules.refuseApprove(r, { role: 'product-owner', by: ' dana ' })).toMatch(/author/);
    expect(rules.approve(r, { role: 'product-owner', by: 'Ann' }, T)).toBe('product-owner signed off by Ann; missing: devops-lead');
    expect(rules.refuseApprove(r, { role: 'product-owner', by: 'Bob' })).toMatch(/already signed off by Ann/);
    expect(rules.refuseApprove(r, { role: 'devops-lead', by: 'ann' })).toMatch(/already signed off as product-owner/);
    expect(rules.approve(r, { role: 'devops-lead', by: 'Bob' }, T)).toMatch(/all sign-offs in/);
    expect(r.st.approvals.missing).toEqual([]);
  });

  it('GO needs the approval stage, every sign-off and accepted inconclusive gates; then it is recorded once', () => {
    const r = run('validate');
    const go = { by: 'rm', reason: 'ok' };
    expect(rules.refuseGo(r, go)).toMatch(/stage now: validate/);
    r.st.stage = 'approval';
    expect(rules.refuseGo(r, go)).toMatch(/sign-offs missing: product-owner, devops-lead/);
    rules.approve(r, { role: 'product-owner', by: 'Ann' }, T);
    rules.approve(r, { role: 'devops-lead', by: 'Bob' }, T);
    r.st.gates.staging = [gate('pass'), gate('inconclusive')];
    expect(rules.refuseGo(r, go)).toMatch(/gates inconclusive: cache-hit-rate \(no requests\)/);
    expect(rules.refuseGo(r, { ...go, acceptInconclusive: true })).toBeUndefined();
    rules.go(r, { ...go, acceptInconclusive: true }, T);
    expect(r.st.decision).toMatchObject({ kind: 'go', acceptedInconclusive: ['cache-hit-rate'] });
    expect(rules.refuseGo(r, go)).toMatch(/already been given/);
    expect(rules.refuseNoGo(r, go)).toMatch(/use rollback/);
    expect(rules.refuseApprove(r, { role: 'devops-lead', by: 'Cy' })).toBeDefined();
  });

  it('NO-GO and rollback stop the pipeline; nothing is accepted once it is ending', () => {
    const r = run();
    expect(rules.refuseRollback(r, { by: 'x' })).toMatch(/"reason" is required/);
    rules.noGo(r, { by: 'PO', reason: 'not now' }, T);
    expect(r.abort).toMatchObject({ kind: 'no-go', automatic: false, at: T });
    expect(rules.refuseRollback(r, { by: 'x', reason: 'y' })).toMatch(/already ending \(no-go by PO: not now\)/);
    expect(rules.endState(r.abort)).toBe('no-go');
  });

  it('an approval timeout is the system NO-GO naming the missing sign-offs', () => {
    const r = run();
    rules.approvalTimedOut(r, 72 * H, T);
    expect(r.st.decision).toMatchObject({ kind: 'no-go', by: 'system' });
    expect(r.abort!.reason).toMatch(/missing sign-offs: product-owner, devops-lead/);
  });

  it('ends completed, rolled back (gate or request), no-go or failed', () => {
    expect(rules.endState(undefined)).toBe('completed');
    const r = run();
    rules.gateFailed(r, 'staging', 'mape: 25 >= 20', T);
    expect(rules.endState(r.abort)).toBe('rolled-back');
    rules.stepFailed(r, 'boom', T);
    expect(rules.endState(r.abort)).toBe('failed');
    expect(rules.failedGates([gate('pass'), { ...gate('fail'), detail: '98 <= 99' }])).toBe('cache-hit-rate: 98 <= 99');
    expect(rules.failedGates([gate('inconclusive')])).toBeUndefined();
  });

  it('records refused signals in the status', () => {
    const r = run();
    rules.refuse(r, 'go', 'sign-offs missing', T);
    expect(r.st.rejected).toEqual([{ at: new Date(T).toISOString(), message: 'go', reason: 'sign-offs missing' }]);
  });
});

describe('no silent pass: inconclusive gates at the end of monitoring', () => {
  const prod = (gate: string, status: GateResult['status'], mustHaveData?: false) =>
    ({ gate, environment: 'production', status, detail: `${gate} ${status}`, ...(mustHaveData === false ? { mustHaveData } : {}) }) as GateResult;
  /** A run whose production monitoring just ended with these gate results (GO given). */
  function ended(results: GateResult[]): rules.RolloutRun {
    const r = run('monitor');
    r.goDecided = true;
    r.st.gates.production = results;
    return r;
  }

  it('all gates measured: nothing to confirm, nothing recorded', () => {
    const r = ended([prod('mape', 'pass'), prod('peak-memory', 'pass')]);
    expect(rules.monitorEnded(r, T)).toEqual([]);
    expect(r.st.monitorEnd).toBeUndefined();
  });

  it('a gate that needs data and has none holds the rollout; one the plan allows is recorded, not held', () => {
    const r = ended([prod('mape', 'pass'), prod('forecast-duration', 'inconclusive'), prod('cache-hit-rate', 'inconclusive', false)]);
    expect(rules.monitorEnded(r, T).map((g) => g.gate)).toEqual(['forecast-duration']);
    expect(r.st.monitorEnd).toEqual({ at: new Date(T).toISOString(), inconclusive: ['forecast-duration'], allowedInconclusive: ['cache-hit-rate'] });
    expect(r.st.timeline.map((t) => t.event)).toEqual(['inconclusive allowed by the plan', 'monitoring ended inconclusive']);
    expect(r.st.timeline[0].detail).toMatch(/cache-hit-rate \(cache-hit-rate inconclusive\) \(mustHaveData: false\)/);
  });

  it('only gates the plan allows inconclusive: recorded, and the rollout does not hold', () => {
    const r = ended([prod('mape', 'pass'), prod('cache-hit-rate', 'inconclusive', false)]);
    expect(rules.monitorEnded(r, T)).toEqual([]);
    expect(r.st.monitorEnd).toMatchObject({ inconclusive: [], allowedInconclusive: ['cache-hit-rate'] });
  });

  it('confirm is refused before the hold, without by/reason, and twice; accepted it is recorded like a GO', () => {
    const r = ended([prod('forecast-duration', 'inconclusive'), prod('cache-hit-rate', 'inconclusive', false)]);
    const p = { by: 'lee', reason: 'no run expected overnight' };
    expect(rules.refuseConfirm(r, p)).toMatch(/monitoring ended with gates inconclusive \(state now: running, stage monitor\)/);
    rules.monitorEnded(r, T);
    r.st.state = 'awaiting-confirmation';
    expect(rules.refuseConfirm(r, { by: 'lee' })).toMatch(/"reason" is required/);
    expect(rules.refuseConfirm(r, 'yes')).toMatch(/JSON object/);
    expect(rules.refuseConfirm(r, p)).toBeUndefined();
    expect(rules.confirm(r, p, T + H)).toMatch(/confirmed by lee: releasing v1 with inconclusive production gates forecast-duration/);
    expect(r.st.confirmation).toEqual({
      kind: 'confirm',
      by: 'lee',
      reason: 'no run expected overnight',
      at: new Date(T + H).toISOString(),
      acceptedInconclusive: ['forecast-duration'],
      allowedInconclusive: ['cache-hit-rate'],
    });
    // The GO decision stays as it was: the confirmation is its own record.
    expect(r.st.decision).toBeUndefined();
    expect(rules.refuseConfirm(r, p)).toMatch(/already confirmed by lee/);
  });

  it('rollback stays possible while held; once ending, confirm is refused', () => {
    const r = ended([prod('mape', 'inconclusive')]);
    rules.monitorEnded(r, T);
    r.st.state = 'awaiting-confirmation';
    expect(rules.refuseRollback(r, { by: 'oncall', reason: 'no data, no release' })).toBeUndefined();
    rules.requestRollback(r, { by: 'oncall', reason: 'no data, no release' }, T);
    expect(rules.refuseConfirm(r, { by: 'lee', reason: 'ok' })).toMatch(/already ending \(rollback by oncall/);
  });

  it('no confirm by the deadline: an automatic rollback naming the gates and the deadline', () => {
    const r = ended([prod('mape', 'inconclusive'), prod('gc-pause', 'inconclusive')]);
    rules.monitorEnded(r, T);
    expect(rules.confirmTimeoutMs({})).toBe(24 * H);
    expect(rules.confirmTimeoutMs({ confirmTimeoutMs: 5000 })).toBe(5000);
    r.st.deadlines.confirmDeadline = new Date(T + 24 * H).toISOString();
    rules.confirmTimedOut(r, 24 * H, T + 24 * H);
    expect(r.abort).toMatchObject({ kind: 'rollback', by: 'system', automatic: true, at: T + 24 * H });
    expect(r.abort!.reason).toBe('no confirm by the deadline 2025-03-02T00:00:00.000Z (24 h after monitoring ended); production gates inconclusive: mape, gc-pause');
    expect(rules.endState(r.abort)).toBe('rolled-back');
  });

  it('staging: GO needs acceptInconclusive only for gates that need data; the plan-allowed ones are recorded apart', () => {
    const r = run();
    rules.approve(r, { role: 'product-owner', by: 'Ann' }, T);
    rules.approve(r, { role: 'devops-lead', by: 'Bob' }, T);
    r.st.gates.staging = [{ ...gate('inconclusive'), mustHaveData: false }, { ...gate('pass'), gate: 'mape' }];
    expect(rules.refuseGo(r, { by: 'rm', reason: 'ok' })).toBeUndefined();
    rules.go(r, { by: 'rm', reason: 'ok' }, T);
    expect(r.st.decision).toMatchObject({ kind: 'go', allowedInconclusive: ['cache-hit-rate'] });
    expect(r.st.decision!.acceptedInconclusive).toBeUndefined();
  });
});

describe('watch schedule', () => {
  const w: rules.WatchPlan = { startMs: T, windowMs: 24 * H, cycles: 3, intervalMs: 6 * H };

  /** Simulates the loop with instant steps: when each cycle and each gate evaluation happens (hours). */
  function simulate(plan: rules.WatchPlan, stepMs = 0) {
    const pos = rules.startWatch(plan);
    const events: string[] = [];
    let t = plan.startMs;
    for (let i = 0; i < 100; i++) {
      const s = rules.watchStep(plan, pos, t);
      const h = (t - plan.startMs) / H;
      if (s.kind === 'end') return [...events, `end@${h}`];
      if (s.kind === 'sleep') {
        t = s.untilMs;
        continue;
      }
      if (s.kind === 'cycle') pos.cyclesDone = s.n;
      events.push(`${s.kind}@${h}`);
      t += stepMs;
      pos.nextCheckMs = rules.nextCheckAfter(plan, pos, t);
    }
    throw new Error('did not end');
  }

  it('P1: cycles at 0, 8, 16 h; checks at 6, 12, 18 h; the final check at 24 h', () => {
    expect(simulate(w)).toEqual(['cycle@0', 'check@6', 'cycle@8', 'check@12', 'cycle@16', 'check@18', 'end@24']);
  });

  it('checks stay on the grid however long each step takes (no drift)', () => {
    expect(simulate(w, 30 * 60_000).filter((e) => e.startsWith('check'))).toEqual(['check@6', 'check@12', 'check@18']);
  });

  it('a check due with a cycle is that cycle evaluation, not a second one', () => {
    expect(simulate({ ...w, windowMs: 7 * 24 * H, cycles: 7, intervalMs: 24 * H })).toEqual(['cycle@0', 'cycle@24', 'cycle@48', 'cycle@72', 'cycle@96', 'cycle@120', 'cycle@144', 'end@168']);
  });

  it('checks missed during a long cycle collapse into the next grid point', () => {
    const pos = { cyclesDone: 1, nextCheckMs: T + 6 * H };
    expect(rules.nextCheckAfter(w, pos, T + 13 * H)).toBe(T + 18 * H);
  });

  it('with no cycles: checks on the interval, then the end', () => {
    expect(simulate({ ...w, cycles: 0 })).toEqual(['check@6', 'check@12', 'check@18', 'end@24']);
  });
});

describe('the hybrid fallback', () => {
  const input = (changes: Record<string, string | number | boolean>, shadow?: string) => ({ changes, validation: { cycles: 1, soakMs: 1, checkIntervalMs: 100, baselineCycles: 0, ...(shadow ? { shadow: { challenger: shadow } } : {}) } });
  it('applies to rollouts that turn the hybrid on or shadow a challenger', () => {
    expect(rules.isHybridRollout(input({ ENABLE_HYBRID_FORECASTING: true }))).toBe(true);
    expect(rules.isHybridRollout(input({ STREAMING_BATCH_DELAY_MS: 300 }, 'plan'))).toBe(true);
    expect(rules.isHybridRollout(input({ STREAMING_BATCH_DELAY_MS: 300 }))).toBe(false);
    expect(rules.isHybridRollout(input({ ENABLE_HYBRID_FORECASTING: false }))).toBe(false);
  });
  it('breaches only above the threshold, never without data; the reason names both numbers', () => {
    expect(rules.fallbackBreached(20.01, 20)).toBe(true);
    expect(rules.fallbackBreached(20, 20)).toBe(false);
    expect(rules.fallbackBreached(null, 0)).toBe(false);
    const r = { st: rules.initialStatus(undefined, 'wf'), goDecided: false } as rules.RolloutRun;
    rules.fallBack(r, 'production', 23.456, 20, 0);
    expect(r.abort).toEqual({ kind: 'fallback', by: 'rollout', reason: 'hybrid fallback in production: MAPE 23.46% > HYBRID_FALLBACK_MAPE 20%', automatic: true, at: 0 });
    expect(rules.endState(r.abort)).toBe('rolled-back');
  });
  it('guard checks fall on the interval grid and end with the window', () => {
    const seq: number[] = [];
    for (let t = rules.nextGuardCheck(1000, 25, 10, 1000); t !== undefined; t = rules.nextGuardCheck(1000, 25, 10, t)) seq.push(t - 1000);
    expect(seq).toEqual([10, 20, 25]);
    expect(rules.nextGuardCheck(1000, 25, 10, 1003)).toBe(1010); // a late wake-up keeps the grid
  });
});

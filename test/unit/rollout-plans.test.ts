import { PLANS, PLAN_NAMES } from '../../src/rollout/plans';
import { parseAssignments } from '../../src/config/schema';
import { formatDuration, parseDuration, parseRolloutInput, planToInput } from '../../src/rollout/input';
import { renderChangelogEntry, renderPostDeploymentReport } from '../../src/rollout/report';
import type { RolloutStatus } from '../../src/rollout/types';

describe('kickoff plans', () => {
  test('the three plans of the kickoff are ready by name with the plan\'s windows and sign-offs', () => {
    expect(PLAN_NAMES).toEqual(['v19.3-batch-delay', 'v19.3-prefetch', 'v19.3-hybrid-ml']);
    const p1 = planToInput('v19.3-batch-delay', { author: 'dev' });
    expect(p1).toMatchObject({
      release: 'v19.3-batch-delay',
      changes: { STREAMING_BATCH_DELAY_MS: 300 },
      stages: ['staging', 'production'],
      validation: { cycles: 3, soakMs: 24 * 3_600_000, prefetch: false },
      signOffs: ['product-owner', 'devops-lead', 'security', 'on-call'],
    });
    expect(p1.gates.map((g) => `${g.gate}${g.comparator}${g.threshold}`)).toEqual([
      'forecast-duration<84000',
      'peak-memory<62',
      'mape<20',
      'cache-hit-rate>99',
      'gc-pause<100',
      'stability-score>=99.5',
      'incidents<=0',
    ]);
    const p2 = planToInput('v19.3-prefetch', { author: 'dev' });
    expect(p2.changes).toEqual({ ENABLE_PREDICTIVE_PREFETCH: true, PREFETCH_TOP_N_QUERIES: 50, PREFETCH_INCLUDE_RECENT: true });
    expect(p2.validation).toMatchObject({ soakMs: 48 * 3_600_000, prefetch: true });
    const p3 = planToInput('v19.3-hybrid-ml', { author: 'dev' });
    expect(p3.validation).toMatchObject({ cycles: 7, soakMs: 7 * 86_400_000 });
    expect(p3.signOffs).toEqual(['product-owner', 'devops-lead', 'ml-lead', 'security', 'on-call']);
    expect(p2.signOffs).toEqual(['product-owner', 'devops-lead', 'security', 'on-call']);
    expect(p3.changes).toMatchObject({ ENABLE_HYBRID_FORECASTING: true, CROSTON_ALPHA: 0.1 });
    for (const name of PLAN_NAMES) expect(PLANS[name].gates.slice(-2).map((g) => `${g.gate}${g.comparator}${g.threshold}`)).toEqual(['stability-score>=99.5', 'incidents<=0']);
  });

  test('overrides rehearse a plan in seconds; --set values are validated and typed', () => {
    const i = planToInput('v19.3-batch-delay', { author: 'dev', soak: '2s', monitor: '1s', cycles: 1, approvalTimeout: '30s', set: ['STREAMING_BATCH_DELAY_MS=250'], release: 'rehearsal-1' });
    expect(i).toMatchObject({ release: 'rehearsal-1', changes: { STREAMING_BATCH_DELAY_MS: 250 }, validation: { cycles: 1, soakMs: 2000 }, approvalTimeoutMs: 30_000, monitor: { windowMs: 1000 } });
    expect(i.validation.checkIntervalMs).toBeLessThanOrEqual(2000);
    expect(() => planToInput('v19.3-batch-delay', { author: 'dev', set: ['STREAMING_BATCH_DELAY_MS=fast'] })).toThrow(/STREAMING_BATCH_DELAY_MS: "fast" refused: must be whole number of ms/);
    expect(() => planToInput('v19.3-batch-delay', { author: 'dev', set: ['NOPE=1'] })).toThrow(/NOPE: unknown key/);
    expect(() => planToInput('v19.3-batch-delay', { author: 'dev', set: ['novalue'] })).toThrow(/expected KEY=VALUE/);
    expect(() => planToInput('v19.3-batch-delay', { author: 'dev', soak: 'a day' })).toThrow(/--soak: "a day" is not a duration/);
    expect(() => planToInput('v19.4', { author: 'dev' })).toThrow(/unknown plan "v19.4"/);
    expect(() => planToInput('v19.3-batch-delay', { author: ' ' })).toThrow(/author: author is required/);
    expect(() => planToInput('v19.3-batch-delay', { author: 'dev', release: 'bad tag!' })).toThrow(/release: release tags are/);
  });

  test('rollout input is validated whole', () => {
    const good = planToInput('v19.3-batch-delay', { author: 'dev' });
    expect(parseRolloutInput(JSON.parse(JSON.stringify(good)))).toEqual(good);
    expect(() => parseRolloutInput({ ...good, stages: ['production', 'staging'] })).toThrow(/stages must be/);
    expect(() => parseRolloutInput({ ...good, gates: [{ gate: 'latency', comparator: '<', threshold: 1 }] })).toThrow(/gates\.0\.gate/);
    expect(() => parseRolloutInput({ ...good, signOffs: ['devops-lead', 'devops-lead'] })).toThrow(/signOffs lists a role twice/);
    expect(() => parseRolloutInput({ ...good, changes: { CROSTON_ALPHA: 2 } })).toThrow(/CROSTON_ALPHA/);
    expect(() => parseRolloutInput({ ...good, extra: 1 })).toThrow(/extra/);
  });

  test('durations', () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(42)).toBe(42);
    expect(() => parseDuration('-1s')).toThrow();
    expect(formatDuration(7 * 86_400_000)).toBe('7d');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(parseAssignments(['A=b=c'])).toEqual({ A: 'b=c' });
  });
});

describe('release markdown', () => {
  const status: RolloutStatus = {
    release: 'v19.3-batch-delay',
    workflowId: 'rollout-v19.3-batch-delay',
    plan: 'v19.3-batch-delay',
    description: 'v19.3.1: Reduce batch delay 500ms->300ms',
    author: 'dev',
    stage: 'done',
    state: 'rolled-back',
    changes: {
      requested: { STREAMING_BATCH_DELAY_MS: 300 },
      environments: {
        staging: { snapshot: { STREAMING_BATCH_DELAY_MS: null }, before: { STREAMING_BATCH_DELAY_MS: 500 }, after: { STREAMING_BATCH_DELAY_MS: 300 }, appliedAt: '2025-11-18T10:00:00.000Z', restoredAt: '2025-11-18T12:00:01.000Z' },
      },
    },
    gates: {
      staging: [
        { gate: 'peak-memory', environment: 'staging', status: 'fail', measured: 63.2, threshold: 62, comparator: '<', unit: '%', samples: 3, baseline: null, windowStart: '2025-11-18T10:00:00.000Z', windowEnd: '2025-11-18T12:00:00.000Z', detail: 'max of 3 forecast runs: 63.20 % breaks < 62 %' },
      ],
    },
    approvals: { required: ['product-owner', 'devops-lead'], received: [], missing: ['product-owner', 'devops-lead'] },
    rollback: { by: 'rollout', reason: 'gate failed in staging: peak-memory', automatic: true, requestedAt: '2025-11-18T12:00:00.500Z', completedAt: '2025-11-18T12:00:01.000Z', restored: ['staging'], durationMs: 500 },
    deadlines: {},
    rejected: [{ at: '2025-11-18T11:00:00.000Z', message: 'approve', reason: 'dev is the author of v19.3-batch-delay and may not approve it' }],
    timeline: [
      { at: '2025-11-18T10:00:00.000Z', event: 'stage apply-staging' },
      { at: '2025-11-18T12:00:01.000Z', event: 'stage done', detail: 'rolled-back' },
    ],
  };

  test('changelog entry and post-deployment report name the gates, decision and rollback', () => {
    const entry = renderChangelogEntry(status);
    expect(entry).toMatch(/^## v19.3-batch-delay — rolled back \(2025-11-18\)/);
    expect(entry).toMatch(/`STREAMING_BATCH_DELAY_MS`: 500 -> 300 \(reverted\)/);
    expect(entry).toMatch(/Rollback: automatic — gate failed in staging: peak-memory \(500 ms\)/);
    const report = renderPostDeploymentReport(status);
    expect(report).toMatch(/\| Peak memory \| FAIL \| 63.20% \| < 62% \| 3 \|/);
    expect(report).toMatch(/\| `STREAMING_BATCH_DELAY_MS` \| 300 \| 500 \| 300 \(restored\) \| not applied \| not applied \|/);
    expect(report).toMatch(/Restored: staging in 500 ms/);
    expect(report).toMatch(/Refused messages/);
    expect(report).toMatch(/Staging validation \+ soak: n\/a/);
  });

  test('the release record names each gate override with who set it, and a confirmation of inconclusive gates', () => {
    const confirmed: RolloutStatus = {
      ...status,
      state: 'completed',
      rollback: undefined,
      overrides: [
        { gate: 'mape', comparator: '<', threshold: 25, replaced: { comparator: '<', threshold: 20 }, by: 'dev' },
        { gate: 'peak-memory', comparator: '<', threshold: 70, by: 'dev' },
      ],
      decision: { kind: 'go', by: 'lee', reason: 'staging green', at: '2025-11-18T12:00:00.000Z' },
      monitorEnd: { at: '2025-11-19T12:00:00.000Z', inconclusive: ['forecast-duration'], allowedInconclusive: ['cache-hit-rate'] },
      deadlines: { confirmDeadline: '2025-11-20T12:00:00.000Z' },
      confirmation: { kind: 'confirm', by: 'kim', reason: 'no run in the window, checked by hand', at: '2025-11-19T13:00:00.000Z', acceptedInconclusive: ['forecast-duration'] },
    };
    const entry = renderChangelogEntry(confirmed);
    expect(entry).toContain('- Gate overrides: `mape < 25` (plan: < 20) set by dev; `peak-memory < 70` (added, not in the plan) set by dev');
    expect(entry).toContain('- Confirmed with inconclusive production gates (forecast-duration) by kim — no run in the window, checked by hand');
    const report = renderPostDeploymentReport(confirmed);
    expect(report).toContain('- `mape < 25` (plan: < 20) set by dev');
    expect(report).toContain('- Production monitoring ended at 2025-11-19T12:00:00.000Z with gates inconclusive: forecast-duration (held for confirmation until 2025-11-20T12:00:00.000Z)');
    expect(report).toContain('  - allowed by the plan to end without data (mustHaveData: false): cache-hit-rate');
    expect(report).toMatch(/- \*\*CONFIRM\*\* by kim at 2025-11-19T13:00:00.000Z: no run in the window, checked by hand\n {2}- accepted inconclusive gates: forecast-duration/);
  });
});

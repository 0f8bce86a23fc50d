import type { GateResult, RolloutStatus } from '../../src/rollout/types';
import { gateLine, rolloutDetails } from '../../src/workflows/rollout-details';

/** The rollout's current details in the Web UI: stage, gates with values, missing sign-offs, deadline. */

const gate = (over: Partial<GateResult>): GateResult => ({
  gate: 'peak-memory',
  environment: 'staging',
  status: 'pass',
  measured: 2.5,
  threshold: 62,
  comparator: '<',
  unit: '%',
  samples: 3,
  baseline: null,
  windowStart: '2026-12-01T00:00:00.000Z',
  windowEnd: '2026-12-01T06:00:00.000Z',
  detail: '',
  ...over,
});

const status = (over: Partial<RolloutStatus>): RolloutStatus => ({
  release: 'v19.3-batch-delay',
  workflowId: 'rollout-v19.3-batch-delay',
  description: 'd',
  author: 'alice',
  stage: 'soak',
  state: 'running',
  changes: { requested: { STREAMING_BATCH_DELAY_MS: 300 }, environments: {} },
  gates: {},
  approvals: { required: ['product-owner', 'devops-lead'], received: [], missing: ['product-owner', 'devops-lead'] },
  deadlines: { soakEndsAt: '2026-12-02T00:00:00.000Z' },
  rejected: [],
  timeline: [],
  ...over,
});

test('a gate with its value and criterion; no value says so', () => {
  expect(gateLine(gate({}))).toBe('peak-memory pass: 2.50 % (< 62 %)');
  expect(gateLine(gate({ gate: 'cache-hit-rate', status: 'inconclusive', measured: null, comparator: '>', threshold: 99 }))).toBe('cache-hit-rate inconclusive: no value (> 99 %)');
});

test('a partial result (no unit, no measured value) still gives a line', () => {
  const partial = { gate: 'mape', status: 'pass', comparator: '<', threshold: 20 } as unknown as GateResult;
  expect(gateLine(partial)).toBe('mape pass: no value (< 20)');
});

test('soak: stage, gates, the soak deadline', () => {
  const d = rolloutDetails(status({ gates: { staging: [gate({}), gate({ gate: 'forecast-duration', measured: 8123.4, threshold: 84000, unit: 'ms' })] } }));
  expect(d).toBe(
    '**v19.3-batch-delay**: stage **soak**, running\n\n' +
      'gates staging: peak-memory pass: 2.50 % (< 62 %); forecast-duration pass: 8123 ms (< 84000 ms)\n\n' +
      'soak ends 2026-12-02T00:00:00.000Z',
  );
});

test('approval: the missing sign-offs and the approval deadline', () => {
  const d = rolloutDetails(
    status({
      stage: 'approval',
      state: 'awaiting-approval',
      approvals: { required: ['product-owner', 'devops-lead'], received: [{ role: 'product-owner', by: 'pat', at: '' }], missing: ['devops-lead'] },
      deadlines: { approvalDeadline: '2026-12-05T00:00:00.000Z' },
    }),
  );
  expect(d).toContain('sign-offs missing: devops-lead');
  expect(d).toContain('approval deadline 2026-12-05T00:00:00.000Z');
});

test('a rollback says why', () => {
  const d = rolloutDetails(status({ stage: 'rollback', rollback: { by: 'rollout', reason: 'gate failed in staging: peak-memory: 70 %', automatic: true, requestedAt: '', restored: [] } }));
  expect(d).toContain('rollback (automatic): gate failed in staging: peak-memory: 70 %');
});

test('a gate without a finite value never throws (details must not fail the workflow task)', () => {
  expect(gateLine(gate({ measured: undefined as unknown as number }))).toBe('peak-memory pass: no value (< 62 %)');
  expect(gateLine(gate({ measured: Number.NaN }))).toBe('peak-memory pass: ? % (< 62 %)');
});

test('awaiting confirmation: the inconclusive gates, what the plan allowed, the confirm deadline; overrides with who set them', () => {
  const d = rolloutDetails(
    status({
      stage: 'confirmation',
      state: 'awaiting-confirmation',
      monitorEnd: { at: '2026-12-02T00:00:00.000Z', inconclusive: ['forecast-duration', 'mape'], allowedInconclusive: ['cache-hit-rate'] },
      overrides: [
        { gate: 'mape', comparator: '<', threshold: 25, replaced: { comparator: '<', threshold: 20 }, by: 'alice' },
        { gate: 'peak-memory', comparator: '<', threshold: 70, by: 'alice' },
      ],
      deadlines: { confirmDeadline: '2026-12-03T00:00:00.000Z' },
    }),
  );
  expect(d).toContain('**v19.3-batch-delay**: stage **confirmation**, awaiting-confirmation');
  expect(d).toContain('gate overrides: mape < 25 (plan: < 20) by alice; peak-memory < 70 (added) by alice');
  expect(d).toContain('monitoring ended with gates inconclusive: forecast-duration, mape; waiting for **confirm** (by, reason) or rollback');
  expect(d).toContain('inconclusive, allowed by the plan (mustHaveData: false): cache-hit-rate');
  expect(d).toContain('confirm deadline 2026-12-03T00:00:00.000Z (then rollback)');
});

test('a confirmation is shown once given', () => {
  const confirmation = { kind: 'confirm' as const, by: 'lee', reason: 'no run overnight', at: '', acceptedInconclusive: ['mape'] };
  expect(rolloutDetails(status({ stage: 'done', state: 'completed', confirmation }))).toContain('confirmed by lee: no run overnight (accepting inconclusive: mape)');
});

import { appMetrics } from '../../src/ops/metrics';
import { getEnvironmentConfig } from '../../src/db/config-store';
import { getRelease } from '../../src/db/rollouts';
import { statusQuery } from '../../src/workflows/messages';
import { FALLBACK, STATUS } from '../../src/workflows/search-attributes';
import { rosterTeam } from '../helpers/signers';
import { startStack, type Stack } from './forecast-run.helpers';
import { rehearsal, start } from './rollout.helpers';

/**
 * P3's automatic fallback on PostgreSQL and the Temporal dev server: a hybrid rollout whose hybrid
 * MAPE is above HYBRID_FALLBACK_MAPE reverts by itself, recorded as an automatic rollback naming the
 * measured MAPE and the threshold (status, release record, search attribute, Prometheus counter).
 */
jest.setTimeout(300_000);
let s: Stack;
beforeAll(async () => {
  s = await startStack({ skus: 12 });
  await rosterTeam(s.db.pool); // a rollout starts only when every sign-off role has a holder
});
afterAll(() => s?.stop());

const fallbacks = async () => (await appMetrics.hybridFallbacks.get()).values.find((v) => v.labels.environment === 'staging')?.value ?? 0;

test('a forced fallback (--set HYBRID_FALLBACK_MAPE=0) reverts staging with automatic: true', async () => {
  const before = await fallbacks();
  // The P3 plan's change set, plus the threshold forced to 0 for the rehearsal; one gate that passes.
  const input = rehearsal({ plan: 'v19.3-hybrid-ml', set: ['HYBRID_FALLBACK_MAPE=0'], gates: [{ gate: 'peak-memory', comparator: '<', threshold: 62 }], baselineCycles: 0, soak: '3s', guard: '0' });
  const h = await start(s, input);
  const st = await h.result().catch(() => h.query(statusQuery));
  expect(st).toMatchObject({ state: 'rolled-back', rollback: { automatic: true, by: 'rollout', restored: ['staging'] } });
  expect(st.rollback!.reason).toMatch(/^hybrid fallback in staging: MAPE \d+\.\d\d% > HYBRID_FALLBACK_MAPE 0%$/);
  expect(st.timeline.some((e) => e.event === 'fallback check staging: BREACH')).toBe(true);
  // the snapshot restored: HYBRID_FALLBACK_MAPE and the model keys back on their defaults
  expect((await getEnvironmentConfig(s.db.pool, 'staging')).HYBRID_FALLBACK_MAPE).toBe(20);
  const desc = await h.describe();
  expect(desc.typedSearchAttributes.get(FALLBACK)).toBe('automatic');
  expect(desc.typedSearchAttributes.get(STATUS)).toBe('rolled-back');
  const release = await getRelease(s.db.pool, input.release);
  expect(release?.report).toMatch(/hybrid fallback in staging: MAPE/);
  expect(await fallbacks()).toBe(before + 1);
});

test('a hybrid rollout under the threshold is not fallen back; a non-hybrid rollout is never checked', async () => {
  const input = rehearsal({ plan: 'v19.3-hybrid-ml', set: ['HYBRID_FALLBACK_MAPE=1000'], gates: [{ gate: 'peak-memory', comparator: '<', threshold: 62 }], baselineCycles: 0, soak: '2s', approvalTimeout: '1s', guard: '0' });
  const h = await start(s, input);
  const st = await h.result().catch(() => h.query(statusQuery));
  expect(st.state).toBe('no-go'); // reached the approval stage: the checks passed
  expect(st.timeline.filter((e) => e.event === 'fallback check staging: ok').length).toBeGreaterThan(0);
  const p1 = rehearsal({ gates: [{ gate: 'peak-memory', comparator: '<', threshold: 62 }], baselineCycles: 0, soak: '1s', approvalTimeout: '1s' });
  const h1 = await start(s, p1);
  const st1 = await h1.result().catch(() => h1.query(statusQuery));
  expect(st1.state).toBe('no-go');
  expect(st1.timeline.some((e) => e.event.startsWith('fallback check'))).toBe(false);
});

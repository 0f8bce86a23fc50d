import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startForecastRun } from '../../src/client/starters';
import { findTemporalCli } from '../../src/client/temporal-server';
import { importCsv } from '../../src/db/catalogue';
import { getEnvironmentConfig, setConfig } from '../../src/db/config-store';
import { assignmentsOf, writeAssignments, type Assignment } from '../../src/db/model-assignments';
import type { GateSpec, RolloutStatus } from '../../src/rollout/types';
import { rolloutCycleId } from '../../src/workflows/ids';
import { promoteSignal, promoteUpdate, rollbackSignal, statusQuery } from '../../src/workflows/messages';
import { testTemporalAddress } from '../helpers/env';
import { rosterTeam, sign, signedRollback, signOffAndGo, TEAM } from '../helpers/signers';
import { recordHistory, RUN_DATE, startStack, type Stack } from './forecast-run.helpers';
import { rehearsal, start, untilStatus, type RolloutHandle } from './rollout.helpers';

/**
 * P3's cohort rollout on PostgreSQL and the Temporal dev server: production in steps over the top 5
 * outliers of the latest backtest, every flagged outlier, then the catalogue; each step's outlier
 * gates measured on its cohort; promotion signed (also from the plain `temporal` CLI); a rollback
 * in step 2 puts back exactly the assignments there were; the guard after the steps falls back by
 * itself when a later production run breaches HYBRID_FALLBACK_MAPE.
 */
jest.setTimeout(300_000);
const TEMPORAL = findTemporalCli() ?? 'temporal';
const run = promisify(execFile);
const THRESHOLD = 10; // OUTLIER_MAPE_THRESHOLD in production: enough outliers on the small catalogue for three distinct steps
// The plan's gate names with thresholds the generated catalogue meets, so the steps pass on real measurements.
const GATES: GateSpec[] = [
  { gate: 'outlier-count', comparator: '<=', threshold: 1000 },
  { gate: 'outlier-mape', comparator: '<', threshold: 10_000 },
  { gate: 'peak-memory', comparator: '<', threshold: 62 },
];
let s: Stack;

beforeAll(async () => {
  s = await startStack({ skus: 24, days: 120 });
  await rosterTeam(s.db.pool);
  // "Today": Prophet for every SKU in both environments; no post-deploy delay.
  // HYBRID_FALLBACK_MAPE out of reach until the guard test lowers it (the generated catalogue's MAPE is above the plan's 20).
  for (const env of ['staging', 'production'] as const) {
    await setConfig(s.db.pool, env, { ENABLE_HYBRID_FORECASTING: false, OUTLIER_MAPE_THRESHOLD: THRESHOLD, HYBRID_FALLBACK_MAPE: 1000 }, 'test');
  }
  await setConfig(s.db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: 0 }, 'test');
  // The reference backtest: production's latest run with its accuracy step.
  await (await startForecastRun(s.temporal.client, { environment: 'production', runDate: RUN_DATE, batchSize: 12, delayMs: 0 }, s.temporal.taskQueue)).result();
});
afterAll(() => s?.stop());

/** Production's outliers in the reference backtest, worst first (what the steps must pick). */
async function referenceOutliers(): Promise<string[]> {
  const { rows } = await s.db.pool.query<{ sku_id: string }>(
    `SELECT sku_id FROM sku_accuracy WHERE environment = 'production'
       AND run_id = (SELECT run_id FROM sku_accuracy WHERE environment = 'production' ORDER BY created_at DESC LIMIT 1)
       AND mape > $1 ORDER BY mape DESC, sku_id`,
    [THRESHOLD],
  );
  return rows.map((r) => r.sku_id);
}

const cohortRehearsal = (o: Parameters<typeof rehearsal>[0] = {}) =>
  rehearsal({ plan: 'v19.3-hybrid-ml', gates: GATES, baselineCycles: 0, soak: '1s', monitor: '2s', monitorCycles: 1, guard: '0', postDeployPrefetch: false, ...o });

const promote = (h: RolloutHandle, reason: string) => h.executeUpdate(promoteUpdate, { args: [sign(h.workflowId, 'promote', { by: 'lee', reason }, TEAM.lee)] });
const awaitingPromotion = (h: RolloutHandle, step: string) =>
  untilStatus(h, (st) => st.state === 'awaiting-promotion' && st.steps!.some((x) => x.name === step && x.state === 'awaiting-promotion'), `awaiting promotion to ${step}`);
const assignments = async (): Promise<Map<string, Assignment>> => assignmentsOf(s.db.pool, 'production');
const pick = (a: Assignment | undefined) => a && { serves: a.serves, cohort: a.cohort, release: a.release };

test('the steps run in order on the right SKUs, promoted by a signed update and by the plain temporal CLI', async () => {
  const outliers = await referenceOutliers();
  expect(outliers.length).toBeGreaterThan(5); // three distinct steps
  const input = cohortRehearsal();
  const h = await start(s, input);
  await untilStatus(h, (st) => st.state === 'awaiting-approval', 'the approval stage');
  // Before a step has passed: refused (the Update answers why; the Signal is recorded).
  const early = await h.executeUpdate(promoteUpdate, { args: [{ by: 'lee', reason: 'too early' }] }).catch((err) => err.cause?.message);
  expect(early).toMatch(/^promote is for a cohort rollout whose step passed/);
  await h.signal(promoteSignal, { by: 'lee', reason: 'too early' });
  await signOffAndGo(h, { reason: 'shadow A/B and staging gates passed', acceptInconclusive: true });

  let st = await awaitingPromotion(h, 'flagged-outliers');
  expect(st.steps![0]).toMatchObject({ name: 'top-5-outliers', state: 'passed', skus: [...outliers.slice(0, 5)].sort() });
  // Step 1's outlier gates were measured on its five SKUs, the catalogue's beside them.
  const onCohort = st.steps![0].gates.filter((g) => g.cohort === 'top-5-outliers');
  expect(onCohort.map((g) => g.gate).sort()).toEqual(['outlier-count', 'outlier-mape']);
  expect(onCohort.every((g) => g.status === 'pass' && g.measured !== null && g.detail.startsWith('cohort top-5-outliers (5 SKUs)'))).toBe(true);
  expect(st.steps![0].gates.some((g) => g.cohort === undefined && g.gate === 'peak-memory')).toBe(true);
  // The cohort serves the hybrid by assignment; production's config is untouched until the catalogue step.
  let live = await assignments();
  expect([...live.values()].filter((a) => a.release === input.release).map((a) => [a.sku, a.serves, a.cohort])).toEqual(
    [...outliers.slice(0, 5)].sort().map((sku) => [sku, 'plan', 'top-5-outliers']),
  );
  expect((await getEnvironmentConfig(s.db.pool, 'production')).ENABLE_HYBRID_FORECASTING).toBe(false);
  // The step's production cycle forecast them by that assignment, recorded with the run.
  const { rows } = await s.db.pool.query('SELECT sku_id, serves, cohort FROM run_assignments WHERE run_id = $1 ORDER BY sku_id', [rolloutCycleId(h.workflowId, 'production', 'top-5-outliers-cycle-1')]);
  expect(rows).toEqual([...outliers.slice(0, 5)].sort().map((sku_id) => ({ sku_id, serves: 'plan', cohort: 'top-5-outliers' })));

  await promote(h, 'top 5 improved; on to every flagged outlier');
  st = await awaitingPromotion(h, 'catalogue');
  expect(st.steps![1]).toMatchObject({ name: 'flagged-outliers', state: 'passed', skus: [...outliers].sort(), promotedBy: { by: 'lee', automatic: false } });
  live = await assignments();
  expect(outliers.map((sku) => live.get(sku)?.cohort)).toEqual(outliers.map((sku) => (outliers.slice(0, 5).includes(sku) ? 'top-5-outliers' : 'flagged-outliers')));

  // The last promote from the plain temporal CLI, signed with the same format.
  const payload = sign(h.workflowId, 'promote', { by: 'lee', reason: 'flagged outliers fine; whole catalogue' }, TEAM.lee);
  await run(TEMPORAL, ['workflow', 'signal', '--address', testTemporalAddress(), '--workflow-id', h.workflowId, '--name', 'promote', '--input', JSON.stringify(payload)]);
  const done: RolloutStatus = await h.result();
  await recordHistory('rollout-cohorts', h);
  expect(done.state).toBe('completed');
  expect(done.steps!.map((x) => [x.name, x.state])).toEqual([['top-5-outliers', 'passed'], ['flagged-outliers', 'passed'], ['catalogue', 'passed']]);
  expect(done.steps![2]).toMatchObject({ skus: 'all', promotedBy: { by: 'lee', reason: 'flagged outliers fine; whole catalogue' } });
  expect((await getEnvironmentConfig(s.db.pool, 'production')).ENABLE_HYBRID_FORECASTING).toBe(true);
  // Staging was never switched: the hybrid ran there as the shadow challenger.
  expect((await getEnvironmentConfig(s.db.pool, 'staging')).ENABLE_HYBRID_FORECASTING).toBe(false);
  expect(done.shadow?.challenger).toBe('plan');
  expect(done.rejected.some((r) => r.message === 'promote')).toBe(true);

  // Put production back for the next tests (the release completed; this is the test's own reset).
  await setConfig(s.db.pool, 'production', { ENABLE_HYBRID_FORECASTING: false }, 'test');
  await writeAssignments(s.db.pool, { environment: 'production', changes: [...live.keys()].map((sku) => ({ sku, serves: null })), by: 'test' });
});

test('a rollback in step 2 restores exactly the assignments there were; later changes and new SKUs keep theirs', async () => {
  const outliers = await referenceOutliers();
  expect(outliers.length).toBeGreaterThan(5);
  const [pinned, , , , , changedLater] = outliers; // one in step 1, one only in step 2
  // Before the rollout: someone pinned an outlier to CrostonSBA.
  await writeAssignments(s.db.pool, { environment: 'production', changes: [{ sku: pinned, serves: 'CrostonSBA', cohort: 'pinned', release: null }], by: 'ops', reason: 'known lumpy' });
  const before = await assignments();
  const input = cohortRehearsal({ promotion: 'auto', monitor: '20s' });
  const h = await start(s, input);
  await untilStatus(h, (st) => st.state === 'awaiting-approval', 'the approval stage');
  await signOffAndGo(h, { reason: 'go', acceptInconclusive: true });
  await untilStatus(h, (st) => st.steps![1].state === 'running', 'step 2 running', 120_000);
  expect(pick((await assignments()).get(pinned))).toEqual({ serves: 'plan', cohort: 'top-5-outliers', release: input.release });
  // Meanwhile: a SKU added to the catalogue gets its own assignment, and one cohort SKU is re-assigned by hand.
  const dir = mkdtempSync(join(tmpdir(), 'cohort-'));
  try {
    writeFileSync(join(dir, 'new.csv'), ['unique_id,ds,y', ...Array.from({ length: 30 }, (_, i) => `NEW-SKU,2025-01-${String(i + 1).padStart(2, '0')},${i % 3}`)].join('\n'));
    await importCsv(s.db.pool, join(dir, 'new.csv'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await writeAssignments(s.db.pool, { environment: 'production', changes: [{ sku: 'NEW-SKU', serves: 'TSB', cohort: 'new' }, { sku: changedLater, serves: 'Naive', cohort: 'by-hand' }], by: 'ops' });

  await h.signal(rollbackSignal, signedRollback(h.workflowId, 'step 2 looks wrong'));
  const done: RolloutStatus = await h.result();
  await recordHistory('rollout-cohort-rollback', h);
  expect(done.state).toBe('rolled-back');
  expect(done.steps!.map((x) => x.state)).toEqual(['passed', 'rolled-back', 'pending']);
  expect(done.rollback).toMatchObject({ restored: ['staging'], assignments: { skipped: [changedLater] } });
  expect(done.rollback!.assignments!.restored).toBe(outliers.length - 1);
  const after = await assignments();
  expect(pick(after.get(pinned))).toEqual(pick(before.get(pinned))); // CrostonSBA, pinned, as before
  for (const sku of outliers.filter((x) => x !== pinned && x !== changedLater)) expect(after.get(sku)).toBeUndefined();
  expect(pick(after.get(changedLater))).toEqual({ serves: 'Naive', cohort: 'by-hand', release: null });
  expect(pick(after.get('NEW-SKU'))).toEqual({ serves: 'TSB', cohort: 'new', release: null });
  expect((await getEnvironmentConfig(s.db.pool, 'production')).ENABLE_HYBRID_FORECASTING).toBe(false);
  await writeAssignments(s.db.pool, { environment: 'production', changes: [pinned, changedLater, 'NEW-SKU'].map((sku) => ({ sku, serves: null })), by: 'test' });
});

test('after the steps, the guard falls back by itself when a later production run breaches HYBRID_FALLBACK_MAPE', async () => {
  const input = cohortRehearsal({ promotion: 'auto', guard: '3m' });
  const h = await start(s, input);
  await untilStatus(h, (st) => st.state === 'awaiting-approval', 'the approval stage');
  await signOffAndGo(h, { reason: 'go', acceptInconclusive: true });
  await untilStatus(h, (st) => st.stage === 'guard', 'the guard after the steps', 180_000);
  expect((await h.query(statusQuery)).steps!.every((x) => x.state === 'passed')).toBe(true);
  expect((await getEnvironmentConfig(s.db.pool, 'production')).ENABLE_HYBRID_FORECASTING).toBe(true);
  // A later daily run in production, with the threshold now under what it measures.
  await setConfig(s.db.pool, 'production', { HYBRID_FALLBACK_MAPE: 1 }, 'test');
  await (await startForecastRun(s.temporal.client, { environment: 'production', runDate: RUN_DATE, batchSize: 12, delayMs: 0 }, s.temporal.taskQueue)).result();
  const done: RolloutStatus = await h.result().catch(() => h.query(statusQuery));
  expect(done).toMatchObject({ state: 'rolled-back', rollback: { automatic: true, by: 'rollout', restored: ['production', 'staging'] } });
  expect(done.rollback!.reason).toMatch(/^hybrid fallback in production: MAPE \d+\.\d\d% > HYBRID_FALLBACK_MAPE 1%$/);
  expect(done.rollback!.assignments!.restored).toBeGreaterThan(5);
  expect([...(await assignments()).values()].filter((a) => a.release === input.release)).toEqual([]);
  expect((await getEnvironmentConfig(s.db.pool, 'production')).ENABLE_HYBRID_FORECASTING).toBe(false);
});

import { setConfig } from '../../src/db/config-store';
import { gateResultsFor } from '../../src/db/rollouts';
import { noGoUpdate } from '../../src/workflows/messages';
import { rosterTeam, sign, TEAM } from '../helpers/signers';
import { startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, start, untilStatus } from './rollout.helpers';

jest.setTimeout(300_000);

/**
 * The plan's "stability score >= 99.5" and "zero production incidents" as rollout gates: a forecast
 * run that fails in staging during the soak is an incident, the score drops under A+, both gates
 * fail and the rollout rolls back by itself.
 */

const KEY = 'STREAMING_BATCH_DELAY_MS';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ skus: 24 });
  await rosterTeam(stack.db.pool); // a rollout starts only when every sign-off role has a holder
});
afterAll(() => stack?.stop());

test('a failed staging run during the soak breaks stability-score and incidents: automatic rollback', async () => {
  const input = rehearsal({
    soak: '8s',
    gates: [
      { gate: 'stability-score', comparator: '>=', threshold: 99.5 },
      { gate: 'incidents', comparator: '<=', threshold: 0 },
    ],
  });
  const h = await start(stack, input);
  await untilStatus(h, (s) => s.stage === 'validate' || s.stage === 'soak' || s.state !== 'running', 'staging validation');
  expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);
  // A validation run that failed, recorded the way failForecastRun records it.
  await stack.db.pool.query(
    `INSERT INTO forecast_runs (id, environment, run_date, status, started_at, finished_at, error)
     VALUES ('failed-validation-run', 'staging', '2025-03-01', 'failed', now(), now(), 'batch 2: worker lost')`,
  );
  const s = await untilStatus(h, (x) => x.state !== 'running' && x.state !== 'awaiting-approval', 'the rollback');
  expect(s.state).toBe('rolled-back');
  expect(s.rollback).toMatchObject({ automatic: true, restored: ['staging'] });
  expect(s.rollback!.reason).toMatch(/^gate failed in staging: stability-score: /);
  const byGate = Object.fromEntries(s.gates.staging!.map((g) => [g.gate, g]));
  expect(byGate['stability-score']).toMatchObject({ status: 'fail', comparator: '>=', threshold: 99.5 });
  expect(byGate['stability-score'].measured).toBeLessThan(99.5);
  expect(byGate.incidents).toMatchObject({ status: 'fail', measured: 1 });
  expect(byGate.incidents.detail).toMatch(/1 incident/);
  expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
  expect((await gateResultsFor(stack.db.pool, input.release)).filter((g) => g.status === 'fail').map((g) => g.gate).sort()).toEqual(['incidents', 'stability-score']);
  // The workflow's end, where its key claims are given back: the next test's rollout needs the same key.
  await h.result();
  await setConfig(stack.db.pool, 'staging', { [KEY]: null }, 'test');
});

test('without an incident both gates pass and the rollout waits for its sign-offs', async () => {
  const input = rehearsal({
    soak: '2s',
    gates: [
      { gate: 'stability-score', comparator: '>=', threshold: 99.5 },
      { gate: 'incidents', comparator: '<=', threshold: 0 },
      { gate: 'gc-pause', comparator: '<', threshold: 1000 },
    ],
  });
  const h = await start(stack, input);
  const s = await untilStatus(h, (x) => x.stage === 'approval' || (x.state !== 'running' && x.state !== 'awaiting-approval'), 'the approval stage');
  expect(s.gates.staging!.map((g) => [g.gate, g.status])).toEqual([
    ['stability-score', 'pass'],
    ['incidents', 'pass'],
    ['gc-pause', 'pass'],
  ]);
  expect(s.gates.staging![0].measured).toBe(100);
  await h.executeUpdate(noGoUpdate, { args: [sign(h.workflowId, 'noGo', { by: 'pat', reason: 'test over' }, TEAM.pat)] });
  expect((await untilStatus(h, (x) => x.state === 'no-go', 'NO-GO')).state).toBe('no-go');
});

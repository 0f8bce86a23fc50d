import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildApp, type ApiApp } from '../../src/api/server';
import { preloadRun } from '../../src/cache';
import { startBacktest, startForecastRun } from '../../src/client/starters';
import { setConfig } from '../../src/db/config-store';
import { assignmentHistory, assignmentsOf, writeAssignments } from '../../src/db/model-assignments';
import { RUN_DATE, startStack, type Stack } from './forecast-run.helpers';

/**
 * Per-SKU model assignments on PostgreSQL and the Temporal dev server: a forecast run (and its
 * backtest) uses a SKU's assignment, else the environment's policy; the API names the model and the
 * cohort; `neuro models list --json` reports both; writes are all-or-nothing with history.
 */
jest.setTimeout(300_000);
const run = promisify(execFile);
const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');

let s: Stack;
let api: ApiApp;
let base = '';
let skus: { id: string; kind: string }[] = [];
const neuro = (...args: string[]) => run(process.execPath, [NEURO, ...args], { env: { ...process.env, DATABASE_URL: s.db.url, NEURO_IGNORE_DEV_STATE: '1' } });

beforeAll(async () => {
  s = await startStack({ skus: 12, days: 120 });
  skus = (await s.db.pool.query<{ id: string; kind: string }>('SELECT id, kind FROM skus ORDER BY id')).rows;
  api = await buildApp({ pool: s.db.pool, cache: s.cache, temporalClient: s.temporal.client, taskQueue: s.temporal.taskQueue, log: () => undefined });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await api?.close();
  await s?.stop();
});

const modelsOf = async (runId: string) =>
  new Map((await s.db.pool.query<{ sku_id: string; model: string }>('SELECT DISTINCT sku_id, model FROM forecasts WHERE run_id = $1', [runId])).rows.map((r) => [r.sku_id, r.model]));

test('a run uses each SKU\'s assignment, else the policy; the API and `models list` name the model and cohort', async () => {
  // Prophet for every SKU by policy, so an assigned model or an assigned policy shows.
  await setConfig(s.db.pool, 'staging', { ENABLE_HYBRID_FORECASTING: false }, 'test');
  const intermittent = skus.find((k) => k.kind === 'intermittent')!;
  const [a, b] = skus.filter((k) => k !== intermittent);
  await writeAssignments(s.db.pool, {
    environment: 'staging',
    changes: [
      { sku: a.id, serves: 'CrostonSBA', cohort: 'pilot' },
      { sku: intermittent.id, serves: 'plan', cohort: 'pilot', release: 'r-test' },
    ],
    by: 'tester',
    reason: 'pilot cohort',
  });
  const handle = await startForecastRun(s.temporal.client, { environment: 'staging', runDate: RUN_DATE, batchSize: 5, delayMs: 0 }, s.temporal.taskQueue);
  await handle.result();
  const models = await modelsOf(handle.workflowId);
  expect(models.get(a.id)).toBe('CrostonSBA');
  // the plan's rule with hybrid on picks a Croston-family model for intermittent demand
  expect(['CrostonClassic', 'CrostonSBA', 'CrostonOptimized', 'TSB']).toContain(models.get(intermittent.id));
  expect(models.get(b.id)).toBe('Prophet');

  await preloadRun(s.db.pool, s.cache, 'staging', handle.workflowId);
  const answer = async (sku: string) => (await (await fetch(`${base}/api/v1/forecasts/${sku}?env=staging`)).json()) as { model: string; cohort: string | null };
  expect(await answer(a.id)).toMatchObject({ model: 'CrostonSBA', cohort: 'pilot' });
  expect(await answer(b.id)).toMatchObject({ model: 'Prophet', cohort: null });

  const { stdout } = await neuro('models', 'list', '--env', 'staging', '--json');
  const listed = JSON.parse(stdout) as { sku: string; model: string; source: string; cohort: string | null; release: string | null; since: string | null }[];
  expect(listed).toHaveLength(skus.length);
  expect(listed.find((r) => r.sku === intermittent.id)).toMatchObject({ model: models.get(intermittent.id), source: 'assignment', cohort: 'pilot', release: 'r-test' });
  expect(listed.find((r) => r.sku === b.id)).toEqual({ sku: b.id, model: 'Prophet', source: 'policy', cohort: null, release: null, since: null });
  const one = JSON.parse((await neuro('models', 'list', '--env', 'staging', '--sku', a.id, '--json')).stdout);
  expect(one).toEqual([expect.objectContaining({ sku: a.id, model: 'CrostonSBA', source: 'assignment' })]);

  // the backtest scores what serves: the assigned model
  const bt = await startBacktest(s.temporal.client, { environment: 'staging', runDate: RUN_DATE, batchSize: 5, skus: [a.id, b.id] }, s.temporal.taskQueue);
  await bt.result();
  const acc = await s.db.pool.query<{ sku_id: string; model: string }>('SELECT sku_id, model FROM sku_accuracy WHERE run_id = $1 ORDER BY sku_id', [bt.workflowId]);
  expect(new Map(acc.rows.map((r) => [r.sku_id, r.model]))).toEqual(new Map([[a.id, 'CrostonSBA'], [b.id, 'Prophet']]));
});

test('writes are all or nothing, named when refused, recorded with who and why, and a no-op writes nothing', async () => {
  const env = 'production';
  const [x, y] = skus;
  await expect(
    writeAssignments(s.db.pool, { environment: env, changes: [{ sku: x.id, serves: 'TSB' }, { sku: 'NO-SUCH-SKU', serves: 'TSB' }], by: 'tester' }),
  ).rejects.toThrow('unknown SKU NO-SUCH-SKU');
  expect((await assignmentsOf(s.db.pool, env)).size).toBe(0);

  await expect(neuro('models', 'assign', x.id, '--env', env, '--serves', 'Arima')).rejects.toMatchObject({ stderr: expect.stringContaining('--serves: "Arima" is neither a model') });
  await expect(neuro('models', 'list', '--env', env, '--sku', 'NOPE')).rejects.toMatchObject({ stderr: expect.stringContaining('--sku: unknown SKU "NOPE"') });

  await neuro('models', 'assign', x.id, y.id, '--env', env, '--serves', 'TSB', '--cohort', 'c1', '--by', 'ana', '--reason', 'trial');
  const again = await neuro('models', 'assign', x.id, '--env', env, '--serves', 'TSB', '--cohort', 'c1', '--by', 'ana');
  expect(again.stdout).toContain('0 SKU(s) now served by TSB (cohort c1), 1 already were');
  await neuro('models', 'unassign', x.id, '--env', env, '--by', 'bo', '--reason', 'done');
  const history = await assignmentHistory(s.db.pool, env, x.id, 10);
  expect(history.map((h) => [h.oldServes, h.newServes, h.newCohort, h.changedBy, h.reason])).toEqual([
    ['TSB', null, null, 'bo', 'done'],
    [null, 'TSB', 'c1', 'ana', 'trial'],
  ]);
  expect([...(await assignmentsOf(s.db.pool, env)).keys()]).toEqual([y.id]);
});

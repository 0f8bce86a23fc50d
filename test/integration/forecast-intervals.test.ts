import { randomUUID } from 'node:crypto';
import { buildApp, type ApiApp } from '../../src/api/server';
import { createRedisCache, preloadRun } from '../../src/cache';
import { forecastKey } from '../../src/cache/forecasts';
import type { ForecastCache } from '../../src/cache/types';
import { startForecastRun } from '../../src/client/starters';
import { setConfig } from '../../src/db/config-store';
import { forecastSku } from '../../src/forecasting/engine';
import { isModelName } from '../../src/forecasting/models';
import { testRedisUrl } from '../helpers/env';
import { RUN_DATE, startStack, type Stack } from './forecast-run.helpers';

/**
 * Prediction intervals end to end on PostgreSQL, Redis and the Temporal dev server: a forecastRun
 * stores FORECAST_INTERVAL_LEVELS' bounds with each forecast, the preload carries them into the
 * cache and GET /api/v1/forecasts/:sku?level= serves them.
 */
const SKUS = 12;
let s: Stack;
let redis: ForecastCache;
let api: ApiApp;
let base = '';
let runId = '';

beforeAll(async () => {
  s = await startStack({ skus: SKUS, days: 120 });
  redis = await createRedisCache(testRedisUrl(), { keyPrefix: `t-${randomUUID()}:`, log: () => undefined });
  const handle = await startForecastRun(s.temporal.client, { environment: 'staging', runDate: RUN_DATE, batchSize: 5, delayMs: 0 }, s.temporal.taskQueue);
  await handle.result();
  runId = handle.workflowId;
  await preloadRun(s.db.pool, redis, 'staging', runId);
  api = await buildApp({ pool: s.db.pool, cache: redis, temporalClient: s.temporal.client, taskQueue: s.temporal.taskQueue, log: () => undefined });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await api?.close();
  await redis?.close();
  await s?.stop();
});

async function get(url: string): Promise<{ status: number; cache: string | null; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(base + url);
  return { status: res.status, cache: res.headers.get('x-cache'), body: JSON.parse(await res.text()) };
}

test('the run stores 80/95 bounds per SKU and day, equal to the engine on the same history', async () => {
  const run = (await s.db.pool.query('SELECT interval_levels FROM forecast_runs WHERE id = $1', [runId])).rows[0];
  expect(run.interval_levels).toEqual([80, 95]);
  const { rows } = await s.db.pool.query<{ sku_id: string; ds: string; level: number; lo: number; hi: number; value: number; model: string }>(
    `SELECT i.sku_id, i.ds, i.level, i.lo, i.hi, f.value, f.model FROM forecast_intervals i
     JOIN forecasts f USING (environment, run_id, sku_id, ds) WHERE i.run_id = $1 ORDER BY i.sku_id, i.ds, i.level`,
    [runId],
  );
  expect(rows).toHaveLength(SKUS * 7 * 2);
  for (const r of rows) {
    expect(r.lo).toBeGreaterThanOrEqual(0);
    expect(r.lo).toBeLessThanOrEqual(r.value + 1e-9);
    expect(r.hi).toBeGreaterThanOrEqual(r.value - 1e-9);
  }
  // one SKU recomputed: the stored model (plan policy, default parameters) with levels on its history
  const sku = rows[0].sku_id;
  const hist = await s.db.pool.query<{ ds: string; qty: number }>('SELECT ds, qty FROM sales WHERE sku_id = $1 AND ds < $2 ORDER BY ds', [sku, RUN_DATE]);
  const model = rows[0].model;
  expect(isModelName(model)).toBe(true);
  const day = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
  const first = day(hist.rows[0].ds);
  const y = new Float64Array(day(RUN_DATE) - first); // days without a sales row are zeros
  for (const r of hist.rows) y[day(r.ds) - first] = r.qty;
  const ours = forecastSku({ id: sku, start: hist.rows[0].ds, freqDays: 1, y }, { horizon: 7, model: model as never, levels: [80, 95] });
  const stored = rows.filter((r) => r.sku_id === sku);
  for (const [k, iv] of ours.intervals!.entries()) {
    const mine = stored.filter((r) => r.level === iv.level);
    expect(mine.map((r) => r.lo)).toEqual([...iv.lo].map((v) => expect.closeTo(v, 9)));
    expect(mine.map((r) => r.hi)).toEqual([...iv.hi].map((v) => expect.closeTo(v, 9)));
    expect(k).toBeLessThan(2);
  }
});

test('the preload carries the bounds; ?level= serves them from the cache, without it the answer is unchanged', async () => {
  const sku = (await s.db.pool.query<{ sku_id: string }>('SELECT min(sku_id) AS sku_id FROM forecast_intervals WHERE run_id = $1', [runId])).rows[0].sku_id;
  const cached = JSON.parse((await redis.getWithTtl(forecastKey('staging', sku, 7)))!.value);
  expect(cached.intervalLevels).toEqual([80, 95]);
  expect(Object.keys(cached.points[0])).toEqual(['ds', 'value', 'lo-80', 'hi-80', 'lo-95', 'hi-95']);

  const both = await get(`/api/v1/forecasts/${sku}?env=staging&level=80,95`);
  expect(both.status).toBe(200);
  expect(both.cache).toBe('hit');
  expect(both.body.intervalLevels).toEqual([80, 95]);
  const db = (await s.db.pool.query<{ ds: string; level: number; lo: number; hi: number }>('SELECT ds, level, lo, hi FROM forecast_intervals WHERE run_id = $1 AND sku_id = $2 ORDER BY ds', [runId, sku])).rows;
  for (const p of both.body.points) {
    for (const l of [80, 95]) {
      const r = db.find((x) => x.ds === p.ds && x.level === l)!;
      expect(p[`lo-${l}`]).toBe(r.lo);
      expect(p[`hi-${l}`]).toBe(r.hi);
    }
  }
  const one = await get(`/api/v1/forecasts/${sku}?env=staging&level=95`);
  expect(Object.keys(one.body.points[0])).toEqual(['ds', 'value', 'lo-95', 'hi-95']);
  const plain = await get(`/api/v1/forecasts/${sku}?env=staging`);
  expect(Object.keys(plain.body.points[0])).toEqual(['ds', 'value']);
  expect(plain.body.intervalLevels).toBeUndefined();
  const batch = await get(`/api/v1/forecasts?env=staging&skus=${sku}&level=80`);
  expect(Object.keys(batch.body.forecasts[0].points[0])).toEqual(['ds', 'value', 'lo-80', 'hi-80']);
});

test.each([
  ['level=90', /level 90 is not stored for run .* \(stored: 80, 95; FORECAST_INTERVAL_LEVELS\)/],
  ['level=abc', /level must be a number strictly between 0 and 100.*"abc"/],
  ['level=0', /level must be a number strictly between 0 and 100.*"0"/],
  ['level=100', /level must be a number strictly between 0 and 100.*"100"/],
  ['level=150', /level must be a number strictly between 0 and 100.*"150"/],
])('?%s -> 400 naming the level', async (q, message) => {
  const sku = (await s.db.pool.query<{ sku_id: string }>('SELECT min(sku_id) AS sku_id FROM forecasts WHERE run_id = $1', [runId])).rows[0].sku_id;
  const res = await get(`/api/v1/forecasts/${sku}?env=staging&${q}`);
  expect(res.status).toBe(400);
  expect(res.body.error).toMatch(message);
});

test('FORECAST_INTERVAL_LEVELS: bad values are refused naming the key; "" stores no intervals', async () => {
  await expect(setConfig(s.db.pool, 'production', { FORECAST_INTERVAL_LEVELS: '80,150' }, 'test')).rejects.toThrow(/FORECAST_INTERVAL_LEVELS/);
  await setConfig(s.db.pool, 'production', { FORECAST_INTERVAL_LEVELS: '' }, 'test');
  const handle = await startForecastRun(s.temporal.client, { environment: 'production', runDate: RUN_DATE, batchSize: 20, delayMs: 0 }, s.temporal.taskQueue);
  await handle.result();
  const n = await s.db.pool.query('SELECT count(*)::int AS n FROM forecast_intervals WHERE run_id = $1', [handle.workflowId]);
  expect(n.rows[0].n).toBe(0);
  const sku = (await s.db.pool.query<{ sku_id: string }>('SELECT min(sku_id) AS sku_id FROM forecasts WHERE run_id = $1', [handle.workflowId])).rows[0].sku_id;
  const res = await get(`/api/v1/forecasts/${sku}?env=production&level=80`);
  expect(res.status).toBe(400);
  expect(res.body.error).toMatch(/stored: none/);
});

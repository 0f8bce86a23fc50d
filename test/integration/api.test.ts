import { randomUUID } from 'node:crypto';
import { buildApp, startApiServer, type ApiApp } from '../../src/api/server';
import { createRedisCache, hitRate, preloadRun } from '../../src/cache';
import type { ForecastCache } from '../../src/cache/types';
import { freshDatabase, testRedisUrl, testTemporal, type TestDatabase, type TestTemporal } from '../helpers/env';
import { startRedis } from '../helpers/servers';
import { seedRun, skuIds } from './cache-fixtures';

/** The HTTP API on real PostgreSQL, Redis and the Temporal dev server. */

let db: TestDatabase;
let redis: ForecastCache;
let temporal: TestTemporal;
let api: ApiApp;
const SKUS = skuIds(20);
const TOKEN = 'test-admin-token';
let clock = new Date('2025-11-20T11:45:00Z');

beforeAll(async () => {
  db = await freshDatabase();
  redis = await createRedisCache(testRedisUrl(), { keyPrefix: `t-${randomUUID()}:`, log: () => undefined });
  temporal = await testTemporal();
  await seedRun(db.pool, 'production', 'api-run-1', SKUS);
  await preloadRun(db.pool, redis, 'production', 'api-run-1');
  api = await buildApp({
    pool: db.pool,
    cache: redis,
    temporalClient: temporal.client,
    taskQueue: temporal.taskQueue,
    adminToken: TOKEN,
    log: () => undefined,
    now: () => clock,
  });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await api?.close();
  await redis?.close();
  await temporal?.close();
  await db?.drop();
});

// Real HTTP on loopback (fastify's inject needs an ESM-only dependency jest cannot load).
let base = '';
interface Res {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
async function request(method: string, url: string, headers: Record<string, string> = {}, payload?: unknown): Promise<Res> {
  const res = await fetch(base + url, {
    method,
    headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const body = await res.text();
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body, json: () => JSON.parse(body) };
}
const get = (url: string) => request('GET', url);

test.each([
  ['/api/v1/forecasts/SKU-0001?env=dev', /env must be one of staging, production, got "dev"/],
  ['/api/v1/forecasts/SKU-0001?horizon=0', /horizon must be a whole number of days from 1 to 365, got "0"/],
  ['/api/v1/forecasts/SKU-0001?horizon=abc', /horizon .* got "abc"/],
  ['/api/v1/forecasts/SKU-0001?horizon=366', /horizon .* got "366"/],
  ['/api/v1/forecasts/SKU-0001?horizon=7&horizon=8', /horizon given more than once/],
  ['/api/v1/forecasts/SKU-0001?horizn=7', /unknown parameter horizn/],
  ['/api/v1/forecasts/SKU%20BAD%3F', /SKU "SKU BAD\?" is not a valid id/],
  ['/api/v1/forecasts?env=production', /skus is required/],
  ['/api/v1/forecasts?skus=,,', /skus is empty/],
  [`/api/v1/forecasts?skus=${skuIds(101).join(',')}`, /at most 100 SKUs per request, got 101/],
])('GET %s -> 400 with a message', async (url, message) => {
  const res = await get(url);
  expect(res.statusCode).toBe(400);
  expect(res.json().error).toMatch(message);
});

test('404 for an unknown SKU and for a known SKU without a forecast run in that environment', async () => {
  const unknown = await get('/api/v1/forecasts/NOPE-1');
  expect(unknown.statusCode).toBe(404);
  expect(unknown.json().error).toBe('unknown SKU NOPE-1');
  const noRun = await get('/api/v1/forecasts/SKU-0001?env=staging');
  expect(noRun.statusCode).toBe(404);
  expect(noRun.json().error).toMatch(/no forecast for SKU SKU-0001 in staging yet/);
});

test('a preloaded key is a hit, another horizon a miss then a hit; batch reads; hits and misses are accounted', async () => {
  const from = new Date('2025-11-20T00:00:00Z');
  const to = new Date('2025-11-21T00:00:00Z');
  const before = await hitRate(db.pool, 'production', from, to);

  clock = new Date('2025-11-20T11:45:00Z'); // in the morning peak window
  const hit = await get('/api/v1/forecasts/SKU-0002');
  expect(hit.statusCode).toBe(200);
  expect(hit.headers['x-cache']).toBe('hit');
  expect(hit.json()).toMatchObject({ sku: 'SKU-0002', environment: 'production', runId: 'api-run-1', horizon: 7 });
  const miss = await get('/api/v1/forecasts/SKU-0002?horizon=3');
  expect(miss.headers['x-cache']).toBe('miss');
  expect(miss.json().points).toHaveLength(3);

  clock = new Date('2025-11-20T09:00:00Z'); // outside both peak windows
  let offPeakMisses = 0;
  let secondHit = await get('/api/v1/forecasts/SKU-0002?horizon=3&env=production');
  for (let i = 0; i < 50 && secondHit.headers['x-cache'] !== 'hit'; i++) {
    offPeakMisses++; // the first miss's cache write is in the background; this read came before it
    await new Promise((r) => setTimeout(r, 20));
    secondHit = await get('/api/v1/forecasts/SKU-0002?horizon=3&env=production');
  }
  expect(secondHit.headers['x-cache']).toBe('hit');
  const batch = await get('/api/v1/forecasts?skus=SKU-0003,SKU-0004,NOPE-2');
  expect(batch.statusCode).toBe(200);
  expect(batch.json().forecasts.map((f: { sku: string }) => f.sku)).toEqual(['SKU-0003', 'SKU-0004']);
  expect(batch.json().missing).toEqual(['NOPE-2']);
  expect(batch.headers['x-cache-hits']).toBe('2');

  await api.flush();
  const after = await hitRate(db.pool, 'production', from, to);
  expect(after.hits - before.hits).toBe(4);
  expect(after.misses - before.misses).toBe(1 + offPeakMisses);
  const peak = await hitRate(db.pool, 'production', from, to, { peakOnly: true });
  expect(peak).toEqual({ hits: 1, misses: 1, rate: 0.5 });
  const log = await db.pool.query<{ n: number }>(
    "SELECT COUNT(*)::int AS n FROM query_log WHERE environment = 'production' AND sku_id = 'SKU-0002' AND horizon = 3",
  );
  expect(log.rows[0].n).toBeGreaterThanOrEqual(2);
});

test('admin trigger: missing or wrong token -> 401 and nothing started; bad body -> 400; good -> 202 forecastRun', async () => {
  const post = (headers: Record<string, string>, payload: unknown) => request('POST', '/api/v1/admin/trigger-forecast', headers, payload);
  const missing = await post({}, { env: 'staging' });
  expect(missing.statusCode).toBe(401);
  expect(missing.json().error).toMatch(/missing or wrong bearer token/);
  expect((await post({ authorization: 'Bearer nope' }, { env: 'staging' })).statusCode).toBe(401);
  expect((await post({ authorization: TOKEN }, { env: 'staging' })).statusCode).toBe(401);

  const bad = await post({ authorization: `Bearer ${TOKEN}` }, { env: 'qa', batchSize: 0 });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().error).toMatch(/env: .*batchSize: /);
  const badDate = await post({ authorization: `Bearer ${TOKEN}` }, { env: 'staging', runDate: '2025-02-30' });
  expect(badDate.json().error).toMatch(/runDate: is not a calendar date/);
  const extra = await post({ authorization: `Bearer ${TOKEN}` }, { env: 'staging', color: 'red' });
  expect(extra.statusCode).toBe(400);

  const ok = await post({ authorization: `Bearer ${TOKEN}` }, { env: 'staging', runDate: '2025-11-20', batchSize: 5 });
  expect(ok.statusCode).toBe(202);
  const { workflowId } = ok.json();
  expect(workflowId).toMatch(/^forecast-staging-2025-11-20-/);
  const desc = await temporal.client.workflow.getHandle(workflowId).describe();
  expect(desc.type).toBe('forecastRun');
  expect(desc.taskQueue).toBe(temporal.taskQueue);
  // Only the authorised request started a workflow on this test's task queue.
  let ids: string[] = [];
  for (let i = 0; i < 100 && ids.length === 0; i++) {
    ids = [];
    for await (const w of temporal.client.workflow.list({ query: `TaskQueue = "${temporal.taskQueue}"` })) ids.push(w.workflowId);
    if (!ids.length) await new Promise((r) => setTimeout(r, 100));
  }
  expect(ids).toEqual([workflowId]);
  await temporal.client.workflow.getHandle(workflowId).terminate('test done');
});

test('/metrics exposes latency, hits and misses by environment; /healthz reports the services', async () => {
  const metrics = await get('/metrics');
  expect(metrics.statusCode).toBe(200);
  expect(metrics.body).toMatch(/neuro_api_request_duration_seconds_bucket\{.*route="forecast",cache="hit"/);
  expect(metrics.body).toMatch(/neuro_cache_hits_total\{environment="production"\} \d+/);
  expect(metrics.body).toMatch(/neuro_cache_misses_total\{environment="production"\} \d+/);
  expect(metrics.body).toContain('neuro_prefetch_last_duration_seconds');
  const health = await get('/healthz');
  expect(health.statusCode).toBe(200);
  expect(health.json()).toEqual({ status: 'ok', database: true, cache: { kind: 'redis', up: true } });
});

test('Redis killed mid-traffic: every request is answered from PostgreSQL; hits resume after it is back', async () => {
  const own = await startRedis();
  const cache = await createRedisCache(own.url, { log: () => undefined, commandTimeoutMs: 200 });
  await preloadRun(db.pool, cache, 'production', 'api-run-1');
  const lines: string[] = [];
  const server = await startApiServer({ pool: db.pool, cache, taskQueue: 'unused', port: 0, log: (l) => lines.push(l) });
  const results: { status: number; cache: string | null; phase: string }[] = [];
  let phase = 'up';
  let stop = false;
  const loop = async (k: number) => {
    for (let i = 0; !stop; i++) {
      const sku = SKUS[(i * 7 + k) % SKUS.length];
      const res = await fetch(`${server.url}/api/v1/forecasts/${sku}`);
      await res.arrayBuffer();
      results.push({ status: res.status, cache: res.headers.get('x-cache'), phase });
    }
  };
  try {
    const loops = [0, 1, 2, 3].map(loop);
    const waitFor = async (n: number) => {
      const target = results.length + n;
      while (results.length < target) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(100);
    phase = 'down';
    await own.kill();
    await waitFor(300);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('degraded');
    phase = 'back';
    await own.restart();
    // The restarted Redis is empty: misses refill it and hits come back without a restart of the API.
    const end = Date.now() + 30_000;
    while (results.filter((r) => r.phase === 'back' && r.cache === 'hit').length < 50 && Date.now() < end) await waitFor(20);
    stop = true;
    await Promise.all(loops);
  } finally {
    stop = true;
    await server.close();
    await cache.close();
    await own.stop();
  }
  expect(results.every((r) => r.status === 200)).toBe(true);
  const down = results.filter((r) => r.phase === 'down');
  expect(down.length).toBeGreaterThanOrEqual(300);
  // Requests in flight when the kill landed may still be hits; once it is noticed, all are misses.
  expect(down.slice(20).every((r) => r.cache === 'miss')).toBe(true);
  expect(results.filter((r) => r.phase === 'back' && r.cache === 'hit').length).toBeGreaterThanOrEqual(50);
  expect(lines.filter((l) => l.includes('answering from PostgreSQL'))).toHaveLength(1);
});

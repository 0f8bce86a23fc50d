import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createMemoryCache, createRedisCache, forecastKey, ForecastReader, preloadRun } from '../../src/cache';
import type { ForecastCache } from '../../src/cache/types';
import { setConfig } from '../../src/db/config-store';
import { freshDatabase, testRedisUrl, type TestDatabase } from '../helpers/env';
import { startRedis } from '../helpers/servers';
import { seedRun, skuIds } from './cache-fixtures';

/** The read path on real Redis and PostgreSQL: preload, run switch, single-flight, early refresh, outage. */

let db: TestDatabase;
let redis: ForecastCache;
const logs: string[] = [];
const log = (l: string) => logs.push(l);
const SKUS = skuIds(30);

/** The pool with a count of the statements that read forecasts (to see single-flight work). */
function countingPool(pool: Pool): { pool: Pool; forecastReads: () => number } {
  let n = 0;
  const proxy = new Proxy(pool, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (prop === 'query') {
        return (...args: Parameters<Pool['query']>) => {
          if (typeof args[0] === 'string' && args[0].includes('FROM forecasts WHERE')) n++;
          return (v as Pool['query']).apply(target, args);
        };
      }
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { pool: proxy, forecastReads: () => n };
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  db = await freshDatabase();
  redis = await createRedisCache(testRedisUrl(), { keyPrefix: `t-${randomUUID()}:`, log });
  await seedRun(db.pool, 'production', 'run-1', SKUS);
});

afterAll(async () => {
  await redis?.close();
  await db?.drop();
});

test('preload writes every SKU of the run at the default horizon; reads then hit', async () => {
  const pre = await preloadRun(db.pool, redis, 'production', 'run-1');
  expect(pre.keys).toBe(SKUS.length);
  const values = await redis.mget(SKUS.map((s) => forecastKey('production', s, 7)));
  expect(values.every((v) => v !== null)).toBe(true);
  const one = JSON.parse(values[3] as string);
  expect(one).toMatchObject({ sku: SKUS[3], environment: 'production', runId: 'run-1', model: 'SES', horizon: 7 });
  expect(one.points).toHaveLength(7);
  expect(one.points[0]).toEqual({ ds: '2025-01-01', value: 3 });

  const reader = new ForecastReader(db.pool, redis, { log });
  const r = await reader.readOne('production', SKUS[3], 7);
  expect(r.hit).toBe(true);
  expect(r.forecast).toEqual(one);
});

test('a value of an older run is a miss: the current run is served after a new run', async () => {
  const env = 'staging';
  await seedRun(db.pool, env, 'old', SKUS.slice(0, 5));
  await preloadRun(db.pool, redis, env, 'old');
  await seedRun(db.pool, env, 'new', SKUS.slice(0, 5));
  const reader = new ForecastReader(db.pool, redis, { log, refreshMs: 0 });
  const r = await reader.readOne(env, SKUS[0], 7);
  expect(r.hit).toBe(false);
  expect(r.forecast?.runId).toBe('new');
  await until(async () => (await reader.readOne(env, SKUS[0], 7)).hit, 'the new value to be cached');
});

test('a run switch inside the run-id reuse window still answers from the new run', async () => {
  const env = 'staging';
  await seedRun(db.pool, env, 'switch-a', SKUS.slice(0, 3));
  const reader = new ForecastReader(db.pool, redis, { log, refreshMs: 60_000 });
  expect((await reader.readOne(env, SKUS[0], 2)).forecast?.runId).toBe('switch-a');
  await seedRun(db.pool, env, 'switch-b', SKUS.slice(0, 3));
  await db.pool.query("DELETE FROM forecasts WHERE environment = $1 AND run_id = 'switch-a'", [env]);
  expect((await reader.readOne(env, SKUS[1], 2)).forecast?.runId).toBe('switch-b');
  const many = await reader.readMany(env, [SKUS[2]], 4);
  expect(many.get(SKUS[2])?.forecast?.runId).toBe('switch-b');
});

test('single-flight: 50 concurrent misses of one key read the database once', async () => {
  const { pool, forecastReads } = countingPool(db.pool);
  const reader = new ForecastReader(pool, redis, { log });
  await redis.del([forecastKey('production', SKUS[7], 14)]);
  const results = await Promise.all(Array.from({ length: 50 }, () => reader.readOne('production', SKUS[7], 14)));
  expect(results.every((r) => r.forecast?.sku === SKUS[7] && r.forecast.points.length === 14)).toBe(true);
  expect(forecastReads()).toBe(1);
  // Batch reads join in-flight loads too: one query for the keys nobody is loading.
  await redis.del(SKUS.slice(10, 20).map((s) => forecastKey('production', s, 3)));
  const before = forecastReads();
  const [many] = await Promise.all([reader.readMany('production', SKUS.slice(10, 20), 3), reader.readOne('production', SKUS[12], 3)]);
  expect([...many.values()].every((r) => r.forecast && !r.hit)).toBe(true);
  expect(forecastReads() - before).toBe(1);
});

test('single-flight lasts until the cache write: a miss answered just before the write lands joins the load', async () => {
  const { pool, forecastReads } = countingPool(db.pool);
  // The late miss: its GET is answered (nothing there yet) but its caller resumes only once the load
  // has finished and issued its cache write, as happens when the replies arrive together.
  let writeIssued: () => void = () => undefined;
  const issued = new Promise<void>((resolve) => (writeIssued = resolve));
  let gets = 0;
  const cache: ForecastCache = {
    ...redis,
    getWithTtl: async (key) => {
      const value = await redis.getWithTtl(key);
      if (++gets > 1) await issued.then(() => new Promise((resolve) => setImmediate(resolve)));
      return value;
    },
    setMany: (entries) => {
      writeIssued();
      return redis.setMany(entries);
    },
  };
  const reader = new ForecastReader(pool, cache, { log });
  await redis.del([forecastKey('production', SKUS[8], 5)]);
  const [first, late] = await Promise.all([reader.readOne('production', SKUS[8], 5), reader.readOne('production', SKUS[8], 5)]);
  expect(first.forecast?.sku).toBe(SKUS[8]);
  expect(late.forecast).toEqual(first.forecast);
  expect(forecastReads()).toBe(1);
});

test('early refresh (XFetch): a hit close to expiry refreshes in the background, a fresh one does not', async () => {
  const env = 'staging';
  await setConfig(db.pool, env, { CACHE_TTL_SECONDS: 60 }, 'test');
  const key = forecastKey(env, SKUS[1], 7);
  await redis.del([key]);
  // random() near 0 and a large beta make -delta*beta*ln(random) exceed any TTL: always "close to expiry".
  const eager = countingPool(db.pool);
  const early = new ForecastReader(eager.pool, redis, { log, random: () => 1e-300, earlyRefreshBeta: 1e6 });
  expect((await early.readOne(env, SKUS[1], 7)).hit).toBe(false);
  await until(async () => (await redis.get(key)) !== null, 'the value to be written');
  const readsAfterMiss = eager.forecastReads();
  expect((await early.readOne(env, SKUS[1], 7)).hit).toBe(true);
  await until(() => eager.forecastReads() === readsAfterMiss + 1, 'the background refresh');

  const calm = countingPool(db.pool);
  const late = new ForecastReader(calm.pool, redis, { log, random: () => 0.999999 });
  for (let i = 0; i < 20; i++) expect((await late.readOne(env, SKUS[1], 7)).hit).toBe(true);
  expect(calm.forecastReads()).toBe(0);
  await setConfig(db.pool, env, { CACHE_TTL_SECONDS: null }, 'test');
});

test('Redis down: every read is answered from PostgreSQL as a miss, logged once; hits resume when it is back', async () => {
  const own = await startRedis();
  const outageLogs: string[] = [];
  const cache = await createRedisCache(own.url, { log: (l) => outageLogs.push(l), commandTimeoutMs: 200 });
  try {
    await preloadRun(db.pool, cache, 'production', 'run-1');
    const reader = new ForecastReader(db.pool, cache, { log: (l) => outageLogs.push(l), probeIntervalMs: 100 });
    expect((await reader.readOne('production', SKUS[0], 7)).hit).toBe(true);

    await own.kill();
    for (let i = 0; i < 40; i++) {
      const r = await reader.readOne('production', SKUS[i % SKUS.length], 7);
      expect(r.forecast?.sku).toBe(SKUS[i % SKUS.length]);
      expect(r.hit).toBe(false);
    }
    const many = await reader.readMany('production', SKUS.slice(0, 5), 7);
    expect([...many.values()].every((r) => r.forecast && !r.hit)).toBe(true);
    expect(reader.degraded).toBe(true);
    expect(outageLogs.filter((l) => l.includes('answering from PostgreSQL'))).toHaveLength(1);

    await own.restart();
    await until(async () => (await reader.readOne('production', SKUS[0], 7)).hit, 'hits after Redis is back');
    expect(reader.degraded).toBe(false);
    expect(outageLogs.filter((l) => l.includes('serving from the cache again'))).toHaveLength(1);
  } finally {
    await cache.close();
    await own.stop();
  }
});

test('the memory cache serves the same read path (no REDIS_URL)', async () => {
  const mem = createMemoryCache();
  expect((await preloadRun(db.pool, mem, 'production', 'run-1')).keys).toBe(SKUS.length);
  const reader = new ForecastReader(db.pool, mem, { log });
  const many = await reader.readMany('production', SKUS.slice(0, 4), 7);
  expect([...many.values()].map((r) => r.hit)).toEqual([true, true, true, true]);
  expect(await mem.memoryBytes()).toBeGreaterThan(0);
});

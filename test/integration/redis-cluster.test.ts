import Redis from 'ioredis';
import { createCache, forecastKey, ForecastReader, preloadRun } from '../../src/cache';
import { parseRedisTarget } from '../../src/cache/redis';
import type { ForecastCache } from '../../src/cache/types';
import { infraFromEnv } from '../../src/config/schema';
import { freshDatabase, type TestDatabase } from '../helpers/env';
import { startRedisCluster, type RunningRedisCluster } from '../helpers/servers';
import { seedRun, skuIds } from './cache-fixtures';

/** The cache on a real 3-node Redis Cluster: key spread, multi-key commands per slot, a node killed under traffic. */

let cluster: RunningRedisCluster;
let db: TestDatabase;
let cache: ForecastCache;
const logs: string[] = [];
const SKUS = skuIds(300);

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Keys held by each node, asked of the nodes themselves. */
async function keysPerNode(): Promise<number[]> {
  return Promise.all(
    cluster.ports.map(async (port) => {
      const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
      await r.connect();
      try {
        return await r.dbsize();
      } finally {
        r.disconnect();
      }
    }),
  );
}

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  db = await freshDatabase();
  await seedRun(db.pool, 'production', 'run-1', SKUS);
  cache = await createCache(infraFromEnv({ REDIS_CLUSTER_NODES: cluster.url.slice('redis+cluster://'.length) }).redisUrl, { log: (l) => logs.push(l) });
});

afterAll(async () => {
  await cache?.close();
  await db?.drop();
  await cluster?.stop();
});

describe('configuration', () => {
  it('REDIS_CLUSTER_NODES and a redis+cluster:// URL name the same cluster; bad node lists are refused by name', () => {
    expect(infraFromEnv({ REDIS_CLUSTER_NODES: 'a:7000,b:7001' }).redisUrl).toBe('redis+cluster://a:7000,b:7001');
    expect(parseRedisTarget('redis+cluster://u:p%40ss@a:7000,[::1]:7001')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'a', port: 7000 }, { host: '::1', port: 7001 }],
      username: 'u',
      password: 'p@ss',
    });
    expect(parseRedisTarget('redis://a:6379/0')).toEqual({ kind: 'single', url: 'redis://a:6379/0' });
    expect(() => parseRedisTarget('redis+cluster://a:7000,b')).toThrow('REDIS_CLUSTER_NODES: "b" refused: must be host:port');
    expect(() => parseRedisTarget('redis+cluster://a:99999')).toThrow('"a:99999" refused');
  });
});

describe('the cache on a Redis Cluster', () => {
  it('preloads with the same key scheme, spread over every node, and reads back in key order', async () => {
    expect(cache.kind).toBe('redis');
    const preload = await preloadRun(db.pool, cache, 'production', 'run-1');
    expect(preload).toMatchObject({ keys: SKUS.length });
    const perNode = await keysPerNode();
    expect(perNode.every((n) => n > 0)).toBe(true); // no hash tag pins them to one slot
    const keys = SKUS.map((s) => forecastKey('production', s, 7));
    const values = await cache.mget([...keys].reverse());
    expect(values.map((v) => JSON.parse(v!).sku)).toEqual([...SKUS].reverse());
    expect((await cache.getWithTtl(keys[0]))?.pttlMs).toBeGreaterThan(0);
    expect(await cache.memoryBytes()).toBeGreaterThan(0);
    expect(await cache.ping()).toBe(true);
  });

  it('deletes across slots and counts what it deleted', async () => {
    await cache.setMany(SKUS.map((s) => ({ key: `neuro:test:${s}`, value: s, ttlSeconds: 60 })));
    expect(await cache.del([...SKUS.map((s) => `neuro:test:${s}`), 'neuro:test:none'])).toBe(SKUS.length);
    expect((await cache.mget(SKUS.slice(0, 5).map((s) => `neuro:test:${s}`))).every((v) => v === null)).toBe(true);
  });

  it('keeps answering with a node killed and restarted under traffic', async () => {
    const reader = new ForecastReader(db.pool, cache, { log: (l) => logs.push(l), probeIntervalMs: 100 });
    let reads = 0;
    let wrong = 0;
    let stop = false;
    // Traffic: every SKU in turn, one read and a batch read; the database answers what Redis cannot.
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const sku = SKUS[i % SKUS.length];
        const r = await reader.readOne('production', sku, 7);
        if (r.forecast?.sku !== sku) wrong++;
        const many = await reader.readMany('production', SKUS.slice(i % 250, (i % 250) + 20), 7);
        if ([...many.entries()].some(([s, m]) => m.forecast?.sku !== s)) wrong++;
        reads++;
      }
    })();
    await until(() => reads > 20, 'traffic');
    await cluster.kill(1);
    const atKill = reads;
    await until(() => reads > atKill + 50, 'traffic while a node is down');
    // The other nodes keep serving their slots; only the dead node's keys fail.
    const during = await Promise.all(SKUS.map((s) => cache.get(forecastKey('production', s, 7)).then((v) => (v ? 'hit' : 'miss'), () => 'failed')));
    expect(during.filter((d) => d === 'hit').length).toBeGreaterThan(SKUS.length / 3);
    expect(during.filter((d) => d === 'failed').length).toBeGreaterThan(0);
    await cluster.restart(1);
    // The restarted node lost its keys; a preload writes them again and every key reads back.
    await until(async () => {
      await preloadRun(db.pool, cache, 'production', 'run-1');
      const vals = await cache.mget(SKUS.map((s) => forecastKey('production', s, 7)));
      return vals.every((v, i) => v !== null && JSON.parse(v).sku === SKUS[i]);
    }, 'every key cached again after the restart', 30_000);
    const atRestart = reads;
    await until(() => reads > atRestart + 20, 'traffic after the restart');
    stop = true;
    await traffic;
    // Reads of the dead node's slots were answered by PostgreSQL, never with another SKU's forecast.
    expect(wrong).toBe(0);
    expect((await keysPerNode())[1]).toBeGreaterThan(0);
  });
});

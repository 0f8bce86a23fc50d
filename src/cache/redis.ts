import Redis, { Cluster } from 'ioredis';
import type { CacheEntry, ForecastCache } from './types';

// The Cluster's key -> slot function (CRC16 mod 16384, hash tags honoured), the one ioredis uses; untyped.
const calculateSlot: (key: string) => number = require('cluster-key-slot');

export interface RedisCacheOptions {
  log: (line: string) => void;
  /** A slow Redis must not slow the API: past this the read falls back to the database. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Commands allowed to wait while reconnecting; beyond that they fail at once (database answers). */
  maxOfflineQueue?: number;
  /** Prepended to every key (several deployments or test runs sharing one Redis). */
  keyPrefix?: string;
}

export class CacheUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CacheUnavailableError';
  }
}

/** Exponential reconnect backoff (50 ms .. 2 s) with full jitter, so clients don't reconnect in lockstep. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Where the cache lives: one Redis (redis:// or rediss:// URL) or a Redis Cluster's seed nodes. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username?: string; password?: string };

/**
 * `redis+cluster://[user:password@]host:port,host:port,...` is a Cluster (what REDIS_CLUSTER_NODES
 * becomes, see config/schema.ts); anything else is one Redis's URL. Bad node lists are refused by name.
 */
export function parseRedisTarget(url: string): RedisTarget {
  const m = /^redis\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]*)\/?$/.exec(url);
  if (!m) return { kind: 'single', url };
  const nodes = m[3].split(',').map((n) => n.trim()).filter(Boolean).map((n) => {
    const hp = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(n);
    if (!hp || Number(hp[2]) < 1 || Number(hp[2]) > 65535) throw new Error(`REDIS_CLUSTER_NODES: "${n}" refused: must be host:port`);
    return { host: hp[1].replace(/^\[|\]$/g, ''), port: Number(hp[2]) };
  });
  if (!nodes.length) throw new Error('REDIS_CLUSTER_NODES: no nodes given: must be host:port,host:port,...');
  return {
    kind: 'cluster',
    nodes,
    username: m[1] ? decodeURIComponent(m[1]) : undefined,
    password: m[2] !== undefined ? decodeURIComponent(m[2]) : undefined,
  };
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Redis through ioredis with defaults for a cache: short command timeouts, a bounded offline queue,
 * jittered reconnects forever. Every failure surfaces as an error the caller turns into a miss;
 * outage logging is the reader's job (once per outage), so connection errors here are only logged
 * on the first one after being ready.
 *
 * A Cluster uses the same key scheme. No command needs two keys in one slot (GET+PTTL is one key),
 * so keys carry no hash tags and spread over every node; multi-key reads and writes are split into
 * one command per slot, sent as one pipeline per node.
 */
export async function createRedisCache(url: string, opts: RedisCacheOptions): Promise<ForecastCache> {
  const maxOffline = opts.maxOfflineQueue ?? 100;
  const target = parseRedisTarget(url);
  const common = {
    lazyConnect: true,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    commandTimeout: opts.commandTimeoutMs ?? 500,
    maxRetriesPerRequest: 1,
  };
  const client: Redis | Cluster =
    target.kind === 'single'
      ? new Redis(url, { ...common, keyPrefix: opts.keyPrefix, enableOfflineQueue: true, retryStrategy: (times) => reconnectDelayMs(times) })
      : new Cluster(target.nodes, {
          lazyConnect: true,
          enableOfflineQueue: true,
          keyPrefix: opts.keyPrefix, // on the Cluster, so slots are computed from the prefixed key
          redisOptions: { ...common, username: target.username, password: target.password },
          clusterRetryStrategy: (times) => reconnectDelayMs(times),
          // A node that restarts with the same slots is reconnected to (else only a slot refresh would).
          clusterNodeRetryStrategy: (times) => reconnectDelayMs(times),
          retryDelayOnClusterDown: 100,
          retryDelayOnFailover: 100,
        });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) opts.log(`[cache] Redis connection error: ${err.message}; reconnecting in the background`);
    down = true;
  });
  client.on('ready', () => {
    if (down) opts.log('[cache] Redis connection ready again');
    down = false;
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new Error(`Redis${target.kind === 'cluster' ? ' Cluster' : ''} at ${redact(url)} not reachable: ${(err as Error).message}`, { cause: err });
  }

  let waiting = 0;
  /** Runs a command; while reconnecting only a bounded number may wait (each for commandTimeout at most). */
  async function run<T>(fn: () => Promise<T>): Promise<T> {
    if (client.status === 'ready') return fn();
    if (client.status === 'end') throw new CacheUnavailableError('Redis client closed');
    if (waiting >= maxOffline) throw new CacheUnavailableError(`Redis ${client.status}; offline queue full`);
    waiting++;
    try {
      return await fn();
    } finally {
      waiting--;
    }
  }

  /**
   * Indices of keys grouped as the server needs them: one group for a single Redis; for a Cluster,
   * per node (one pipeline each), then per slot (one multi-key command each).
   */
  function groups(keys: string[]): number[][][] {
    if (!(client instanceof Cluster)) return [[keys.map((_, i) => i)]];
    const byNode = new Map<string, Map<number, number[]>>();
    keys.forEach((key, i) => {
      const slot = calculateSlot((opts.keyPrefix ?? '') + key);
      const node = client.slots[slot]?.[0] ?? `slot:${slot}`; // unknown owner: a pipeline of its own
      let slots = byNode.get(node);
      if (!slots) byNode.set(node, (slots = new Map()));
      let idx = slots.get(slot);
      if (!idx) slots.set(slot, (idx = []));
      idx.push(i);
    });
    return [...byNode.values()].map((slots) => [...slots.values()]);
  }

  /** Runs one command per group of keys, a pipeline per node, all nodes at once; results per group. */
  async function perSlot<T>(keys: string[], add: (p: ReturnType<Redis['pipeline']>, slotKeys: string[]) => void): Promise<{ idx: number[]; value: T }[]> {
    const out: { idx: number[]; value: T }[] = [];
    await Promise.all(
      groups(keys).map(async (node) => {
        const res = await run(() => {
          const p = client.pipeline();
          for (const idx of node) add(p, idx.map((i) => keys[i]));
          return p.exec();
        });
        if (!res) throw new CacheUnavailableError('Redis pipeline aborted');
        res.forEach(([err, value], j) => {
          if (err) throw err;
          out.push({ idx: node[j], value: value as T });
        });
      }),
    );
    return out;
  }

  return {
    kind: 'redis',
    get: (key) => run(() => client.get(key)),
    async getWithTtl(key) {
      const res = await run(() => client.multi().get(key).pttl(key).exec());
      if (!res) throw new CacheUnavailableError('Redis transaction aborted');
      const [[errGet, value], [errTtl, pttl]] = res as [[Error | null, string | null], [Error | null, number]];
      if (errGet || errTtl) throw errGet ?? errTtl;
      return value === null ? null : { value, pttlMs: pttl };
    },
    async mget(keys) {
      if (!keys.length) return [];
      if (!(client instanceof Cluster)) return run(() => client.mget(keys));
      const values = new Array<string | null>(keys.length).fill(null);
      for (const g of await perSlot<(string | null)[]>(keys, (p, k) => p.mget(k))) g.idx.forEach((i, j) => (values[i] = g.value[j]));
      return values;
    },
    async setMany(entries: CacheEntry[]) {
      if (!entries.length) return;
      // One pipeline per node: one round trip (per node) for the whole preload/prefetch chunk.
      const byKey = new Map(entries.map((e) => [e.key, e]));
      await perSlot(entries.map((e) => e.key), (p, keys) => {
        for (const k of keys) p.set(k, byKey.get(k)!.value, 'EX', byKey.get(k)!.ttlSeconds);
      });
    },
    pttl: (key) => run(() => client.pttl(key)),
    async del(keys) {
      if (!keys.length) return 0;
      if (!(client instanceof Cluster)) return run(() => client.del(...keys));
      return (await perSlot<number>(keys, (p, k) => p.del(...k))).reduce((a, g) => a + g.value, 0);
    },
    async memoryBytes() {
      const nodes = client instanceof Cluster ? client.nodes('master') : [client];
      const infos = await Promise.all(nodes.map((n) => run(() => n.info('memory'))));
      return infos.reduce((a, info) => a + Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0), 0);
    },
    async ping() {
      try {
        return (await run(() => client.ping())) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      if (client.status === 'end') return;
      await client.quit().catch(() => client.disconnect());
    },
  };
}

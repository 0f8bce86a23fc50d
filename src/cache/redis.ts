import Redis from 'ioredis';
import type { CacheEntry, ForecastCache } from './types';

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

/**
 * Redis through ioredis with defaults for a cache: short command timeouts, a bounded offline queue,
 * jittered reconnects forever. Every failure surfaces as an error the caller turns into a miss;
 * outage logging is the reader's job (once per outage), so connection errors here are only logged
 * on the first one after being ready.
 */
export async function createRedisCache(url: string, opts: RedisCacheOptions): Promise<ForecastCache> {
  const maxOffline = opts.maxOfflineQueue ?? 100;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    commandTimeout: opts.commandTimeoutMs ?? 500,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (times) => reconnectDelayMs(times),
    keyPrefix: opts.keyPrefix,
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
    throw new Error(`Redis at ${url.replace(/\/\/[^@]*@/, '//***@')} not reachable: ${(err as Error).message}`, { cause: err });
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
    mget: (keys) => (keys.length ? run(() => client.mget(keys)) : Promise.resolve([])),
    async setMany(entries: CacheEntry[]) {
      if (!entries.length) return;
      // One pipeline: one round trip for the whole preload/prefetch chunk.
      const res = await run(() => {
        const p = client.pipeline();
        for (const e of entries) p.set(e.key, e.value, 'EX', e.ttlSeconds);
        return p.exec();
      });
      const failed = res?.find(([err]) => err);
      if (failed) throw failed[0];
    },
    pttl: (key) => run(() => client.pttl(key)),
    del: (keys) => (keys.length ? run(() => client.del(...keys)) : Promise.resolve(0)),
    async memoryBytes() {
      const info = await run(() => client.info('memory'));
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
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

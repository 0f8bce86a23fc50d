import type { CacheEntry, ForecastCache } from './types';

/**
 * In-process cache for the demo and single-process runs (no REDIS_URL). Same contract as Redis:
 * TTL per key; the oldest keys are dropped past maxKeys so memory stays bounded.
 */
export function createMemoryCache(opts: { maxKeys?: number; now?: () => number } = {}): ForecastCache {
  const maxKeys = opts.maxKeys ?? 200_000;
  const now = opts.now ?? Date.now;
  const store = new Map<string, { value: string; expiresAt: number }>();

  const live = (key: string) => {
    const e = store.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now()) {
      store.delete(key);
      return undefined;
    }
    return e;
  };

  return {
    kind: 'memory',
    async get(key) {
      return live(key)?.value ?? null;
    },
    async getWithTtl(key) {
      const e = live(key);
      return e ? { value: e.value, pttlMs: e.expiresAt - now() } : null;
    },
    async mget(keys) {
      return keys.map((k) => live(k)?.value ?? null);
    },
    async setMany(entries: CacheEntry[]) {
      for (const { key, value, ttlSeconds } of entries) {
        store.delete(key); // re-insert so Map order stays oldest-first
        store.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
      }
      for (const k of store.keys()) {
        if (store.size <= maxKeys) break;
        store.delete(k);
      }
    },
    async pttl(key) {
      const e = live(key);
      return e ? e.expiresAt - now() : -2;
    },
    async del(keys) {
      let n = 0;
      for (const k of keys) if (store.delete(k)) n++;
      return n;
    },
    async memoryBytes() {
      let bytes = 0;
      for (const [k, e] of store) bytes += 2 * (k.length + e.value.length) + 48;
      return bytes;
    },
    async ping() {
      return true;
    },
    async close() {
      store.clear();
    },
  };
}

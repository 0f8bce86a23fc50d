/**
 * The cache the API, the preload and the prefetch write through. Two implementations sit behind it:
 * Redis (ioredis) when REDIS_URL is set, an in-process map otherwise (the demo's default).
 */
export interface CacheEntry {
  key: string;
  value: string;
  ttlSeconds: number;
}

export interface ForecastCache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** Value and remaining TTL in one round trip (early refresh needs both); null for a miss. */
  getWithTtl(key: string): Promise<{ value: string; pttlMs: number } | null>;
  /** Values in key order; null for a miss. */
  mget(keys: string[]): Promise<(string | null)[]>;
  /** Pipelined (Redis) multi-write with TTL. */
  setMany(entries: CacheEntry[]): Promise<void>;
  /** Remaining time to live in ms (-2 missing, -1 no TTL), for early refresh. */
  pttl(key: string): Promise<number>;
  del(keys: string[]): Promise<number>;
  /** Approximate bytes used, for the prefetch's memory-impact figure. */
  memoryBytes(): Promise<number>;
  /** True when the backing store answers now. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

import { latestPrefetches, prefetchRunCounts } from '../db/cache-records';
import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerStabilityMetrics } from '../ops/metrics';

/** The API's Prometheus metrics, on a registry of its own (several apps can live in one process). */
export function createMetrics(pool: Pool, isDegraded: () => boolean) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'neuro_' });
  const requestDuration = new Histogram({
    name: 'neuro_api_request_duration_seconds',
    help: 'API request latency by route and cache outcome',
    labelNames: ['route', 'cache', 'status'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const hits = new Counter({ name: 'neuro_cache_hits_total', help: 'Forecasts served from the cache', labelNames: ['environment'] as const, registers: [registry] });
  const misses = new Counter({
    name: 'neuro_cache_misses_total',
    help: 'Forecasts served from PostgreSQL (including while the cache is down)',
    labelNames: ['environment'] as const,
    registers: [registry],
  });
  const queryLogDropped = new Counter({
    name: 'neuro_query_log_dropped_total',
    help: 'Query-log entries dropped because the buffer kept while PostgreSQL was unreachable was full',
    registers: [registry],
  });
  new Gauge({
    name: 'neuro_cache_degraded',
    help: '1 while the cache is unreachable and answers come from PostgreSQL',
    registers: [registry],
    collect() {
      this.set(isDegraded() ? 1 : 0);
    },
  });
  // Prefetches run in workers; their durations are read from prefetch_runs at scrape time.
  const lastDuration = new Gauge({
    name: 'neuro_prefetch_last_duration_seconds',
    help: 'Duration of the latest completed prefetch per environment and trigger',
    labelNames: ['environment', 'trigger'] as const,
    registers: [registry],
  });
  const lastKeys = new Gauge({
    name: 'neuro_prefetch_last_keys_warmed',
    help: 'Keys warmed by the latest completed prefetch per environment and trigger',
    labelNames: ['environment', 'trigger'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'neuro_prefetch_runs',
    help: 'Prefetch runs recorded, by environment and status',
    labelNames: ['environment', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      lastDuration.reset();
      lastKeys.reset();
      try {
        for (const r of await prefetchRunCounts(pool)) this.set({ environment: r.environment, status: r.status }, r.n);
        for (const r of await latestPrefetches(pool)) {
          lastDuration.set({ environment: r.environment, trigger: r.trigger }, r.duration_ms / 1000);
          lastKeys.set({ environment: r.environment, trigger: r.trigger }, r.keys_warmed);
        }
      } catch {
        // A scrape while the database is down still returns the request metrics.
      }
    },
  });
  registerStabilityMetrics(registry, pool);
  return { registry, requestDuration, hits, misses, queryLogDropped };
}

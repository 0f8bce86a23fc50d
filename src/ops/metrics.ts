import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ENVIRONMENTS } from '../config/schema';
import { stabilityFor } from '../db/ops';
import type { StabilityReport } from './stability';

/**
 * Application metrics of the worker process: what its activities did (forecast runs, batches,
 * prefetches, gates, rollbacks). One registry per process; src/workers/telemetry.ts serves it
 * next to the SDK's own metrics. The stability gauge reads PostgreSQL at scrape time.
 */

export const appRegistry = new Registry();
const registers = [appRegistry];
const env = ['environment'] as const;

export const appMetrics = {
  runs: new Counter({ name: 'neuro_forecast_runs_total', help: 'Forecast runs finished, by status', labelNames: ['environment', 'status'] as const, registers }),
  runDuration: new Histogram({
    name: 'neuro_forecast_run_duration_seconds',
    help: 'Forecast run duration (forecasting phase to completion)',
    labelNames: env,
    buckets: [1, 2.5, 5, 10, 20, 40, 60, 84, 120, 240, 600],
    registers,
  }),
  batchDuration: new Histogram({
    name: 'neuro_forecast_batch_duration_seconds',
    help: 'Forecast batch activity duration',
    labelNames: env,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  }),
  skus: new Counter({ name: 'neuro_forecast_skus_total', help: 'SKUs forecast (rate() of it is SKUs/s)', labelNames: env, registers }),
  skusPerSecond: new Gauge({ name: 'neuro_forecast_batch_skus_per_second', help: 'SKUs per second of the latest batch', labelNames: env, registers }),
  gcPause: new Gauge({ name: 'neuro_forecast_batch_gc_max_pause_seconds', help: 'Longest GC pause during the latest batch', labelNames: env, registers }),
  prefetchKeys: new Counter({ name: 'neuro_prefetch_keys_total', help: 'Keys warmed by prefetches', labelNames: ['environment', 'trigger'] as const, registers }),
  prefetchDuration: new Histogram({
    name: 'neuro_prefetch_duration_seconds',
    help: 'Prefetch duration',
    labelNames: ['environment', 'trigger'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  }),
  gateResults: new Counter({ name: 'neuro_gate_results_total', help: 'Rollout gate evaluations, by gate and verdict', labelNames: ['environment', 'gate', 'status'] as const, registers }),
  gateMeasured: new Gauge({ name: 'neuro_gate_measured', help: 'Latest measured value of each rollout gate (its unit)', labelNames: ['environment', 'gate'] as const, registers }),
  restoreConflicts: new Counter({
    name: 'neuro_config_restore_conflicts_total',
    help: 'Keys a rollback or release revert did not restore because someone else changed them after the release (compare-and-set)',
    labelNames: ['environment'] as const,
    registers,
  }),
  hybridFallbacks: new Counter({ name: 'neuro_hybrid_fallbacks_total', help: "Hybrid rollouts fallen back by themselves: the hybrid's overall MAPE above HYBRID_FALLBACK_MAPE", labelNames: ['environment'] as const, registers }),
  rollbacks: new Counter({ name: 'neuro_rollbacks_total', help: 'Rollbacks completed, by reason (the breached gate, or the kind of decision)', labelNames: ['reason'] as const, registers }),
};

/** The reason label of a rollback: the first breached gate, a failed step, else automatic or manual. Bounded on purpose. */
export function rollbackReason(r: { automatic: boolean; reason: string }): string {
  if (!r.automatic) return 'manual';
  const gate = /^gate failed in [a-z]+: ([a-z-]+):/.exec(r.reason)?.[1];
  if (gate) return `gate:${gate}`;
  if (r.reason.startsWith('no confirm')) return 'confirm-timeout';
  if (r.reason.startsWith('hybrid fallback')) return 'hybrid-fallback';
  return r.reason.startsWith('step failed') ? 'step-failed' : 'automatic';
}

/** neuro_stability_score and neuro_incidents per environment over the last 7 days, read at scrape time. */
export function registerStabilityMetrics(registry: Registry, pool: Pool, windowMs = 7 * 86_400_000): void {
  // Both gauges collect in the same scrape: one measurement serves them.
  let pending: Promise<StabilityReport[]> | undefined;
  const measure = () =>
    (pending ??= (async () => {
      const to = new Date();
      const from = new Date(to.getTime() - windowMs);
      const out: StabilityReport[] = [];
      for (const environment of ENVIRONMENTS) out.push(await stabilityFor(pool, environment, { from, to, label: '7d' }));
      return out;
    })().finally(() => (pending = undefined)));
  const gauge = (name: string, help: string, value: (r: StabilityReport) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: env,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          for (const r of await measure()) {
            const v = value(r);
            if (v !== null) this.set({ environment: r.environment }, v);
          }
        } catch {
          // A scrape while the database is down still returns the other metrics.
        }
      },
    });
  gauge('neuro_stability_score', 'Stability score over the last 7 days (0-100; A+ >= 99.5)', (r) => r.score);
  gauge('neuro_incidents', 'Incidents in the last 7 days (failed runs, automatic rollbacks, SLO breaches)', (r) => r.incidents.length);
}

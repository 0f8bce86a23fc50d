import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createMetrics } from '../../src/api/metrics';
import { appRegistry, registerStabilityMetrics, rollbackReason } from '../../src/ops/metrics';

/** The Grafana dashboard only uses metrics this code exports; rollback reasons stay a small set. */

const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'ops', 'grafana-dashboard.json'), 'utf8'));

test('every neuro_ metric of the Grafana dashboard is exported by the worker or the API', async () => {
  const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));
  const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(neuro_[a-z_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, ''))));
  const worker = new Registry();
  collectDefaultMetrics({ register: worker, prefix: 'neuro_worker_' });
  registerStabilityMetrics(worker, {} as Pool);
  const api = createMetrics({} as Pool, () => false).registry;
  const exported = new Set([appRegistry, worker, api].flatMap((r) => r.getMetricsAsArray().map((m) => m.name)));
  expect([...used].filter((n) => !exported.has(n))).toEqual([]);
  expect(used.size).toBeGreaterThan(10);
  expect(exprs.some((e) => e.includes('temporal_workflow_task_schedule_to_start_latency_bucket'))).toBe(true);
});

test('rollback reasons: the breached gate for automatic rollbacks, else automatic or manual', () => {
  // the rollout workflow's reasons
  expect(rollbackReason({ automatic: true, reason: 'gate failed in staging: peak-memory: max of 3 forecast runs: 70 % breaks < 62 %; mape: ...' })).toBe('gate:peak-memory');
  expect(rollbackReason({ automatic: true, reason: 'step failed: activity timed out' })).toBe('step-failed');
  expect(rollbackReason({ automatic: true, reason: 'something else' })).toBe('automatic');
  expect(rollbackReason({ automatic: true, reason: 'no confirm by the deadline 2025-03-02T00:00:00.000Z (24 h after monitoring ended); production gates inconclusive: mape' })).toBe('confirm-timeout');
  expect(rollbackReason({ automatic: false, reason: 'gate failed in staging: mape: looks wrong' })).toBe('manual');
});

import type { Pool } from 'pg';

/**
 * Constructed operations history in PostgreSQL, written the way the recorders write it (forecast
 * runs, query log, cache_stats, prefetch runs, gate results, a rollout rolled back automatically).
 * Days are UTC days before today, so "the last 7 days" windows ending now contain all of it.
 */

export const DAY_MS = 86_400_000;
export const dayAgo = (n: number, now = new Date()) => new Date(Date.parse(now.toISOString().slice(0, 10)) - n * DAY_MS).toISOString().slice(0, 10);
const at = (day: string, hhmm: string) => new Date(`${day}T${hhmm}:00.000Z`);

export interface OpsHistory {
  days: string[];
  runs: { completed: number; failed: number };
  queries: { total: number; withinSlo: number };
  cache: { hits: number; misses: number };
  gates: { evaluations: number; failed: number };
  release: string;
}

/** Three days (3, 2 and 1 days ago) of production history; the middle one has a failed run. */
export async function writeOpsHistory(pool: Pool, environment = 'production'): Promise<OpsHistory> {
  const days = [dayAgo(3), dayAgo(2), dayAgo(1)];
  let completed = 0;
  let failed = 0;
  for (const [i, day] of days.entries()) {
    const start = at(day, '02:00');
    await pool.query(
      `INSERT INTO forecast_runs (id, environment, run_date, status, started_at, finished_at, duration_ms, skus, batches,
         peak_rss_mb, peak_memory_pct, mape, outlier_count, outlier_skus, gc_count, gc_total_ms, gc_max_ms)
       VALUES ($1, $2, $3, 'completed', $4, $5, $6, 700, 7, $7, $8, $9, $10, '[]', 40, 35.5, $11)`,
      [`run-${day}`, environment, day, start, new Date(start.getTime() + 8000 + i * 500), 8000 + i * 500, 600 + i * 10, 2.4 + i * 0.1, 15 + i, 10 - i, 4 + i],
    );
    completed++;
    if (i === 1) {
      await pool.query(
        `INSERT INTO forecast_runs (id, environment, run_date, status, started_at, finished_at, error)
         VALUES ($1, $2, $3, 'failed', $4, $5, 'batch 3: database unreachable')`,
        [`run-${day}-retry`, environment, day, at(day, '03:00'), at(day, '03:01')],
      );
      failed++;
    }
    // 200 queries a day, one of them slower than the 50 ms SLO.
    await pool.query(
      `INSERT INTO query_log (environment, query_hash, query_pattern, sku_id, horizon, duration_ms, cache_hit, created_at)
       SELECT $1, 'h' || g, 'GET /api/v1/forecasts/SKU-' || g, 'SKU-' || g, 7, CASE WHEN g = 1 THEN 80 ELSE 1.5 END, g > 2,
              $2::timestamptz + g * interval '1 second'
       FROM generate_series(1, 200) g`,
      [environment, at(day, '11:40')],
    );
    // Served requests per minute: outside the peaks, in the morning and in the afternoon peak.
    for (const [hhmm, hits, misses] of [['09:00', 1000, 2], ['11:35', 995, 5], ['17:40', 990, 10]] as const) {
      await pool.query('INSERT INTO cache_stats (environment, minute, hits, misses) VALUES ($1, $2, $3, $4)', [environment, at(day, hhmm), hits, misses]);
    }
    await pool.query(
      `INSERT INTO prefetch_runs (id, environment, trigger, top_n, include_recent, keys_warmed, duration_ms, memory_impact_pct, status, started_at, finished_at)
       VALUES ($1, $2, 'schedule', 50, true, 120, $3, 0.01, 'completed', $4, $5)`,
      [`prefetch-${day}`, environment, 90 + i * 10, at(day, '11:28'), at(day, '11:29')],
    );
  }
  // A rollout on the last day: three passing checks, then peak memory fails and it rolls back.
  const day = days[2];
  const release = 'v19.3-test-rollout';
  const gates = [
    ['forecast-duration', 'pass', 8100, 84000, '<', '08:30'],
    ['peak-memory', 'pass', 2.5, 62, '<', '08:30'],
    ['mape', 'pass', 16, 20, '<', '08:30'],
    ['peak-memory', 'fail', 70, 62, '<', '09:30'],
  ] as const;
  for (const [gate, status, measured, threshold, comparator, hhmm] of gates) {
    await pool.query(
      `INSERT INTO gate_results (release, environment, gate, status, measured, threshold, comparator, window_start, window_end, evaluated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
      [release, environment, gate, status, measured, threshold, comparator, at(day, '08:00'), at(day, hhmm)],
    );
  }
  const decision = {
    decision: { kind: 'go', by: 'lee', reason: 'gates pass', at: at(day, '09:00').toISOString() },
    approvals: [{ role: 'product-owner', by: 'pat', at: at(day, '08:45').toISOString() }],
    rollback: {
      by: 'rollout',
      reason: 'gate peak-memory failed in production',
      automatic: true,
      requestedAt: at(day, '09:30').toISOString(),
      completedAt: at(day, '09:31').toISOString(),
      restored: ['production', 'staging'],
    },
  };
  await pool.query(
    `INSERT INTO rollouts (release, workflow_id, plan, description, author, status, stage, changes, decision, started_at, finished_at)
     VALUES ($1, $2, 'v19.3-batch-delay', 'test', 'alice', 'rolled-back', 'done', '{}', $3, $4, $5)`,
    [release, `rollout-${release}`, JSON.stringify(decision), at(day, '08:00'), at(day, '09:31')],
  );
  return {
    days,
    runs: { completed, failed },
    queries: { total: 600, withinSlo: 597 },
    cache: { hits: 3 * (1000 + 995 + 990), misses: 3 * (2 + 5 + 10) },
    gates: { evaluations: gates.length, failed: 1 },
    release,
  };
}

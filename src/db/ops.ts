import type { Pool, PoolClient } from 'pg';
import { hitRate, peakWindows } from '../cache/stats';
import { getEnvironmentConfig } from './config-store';
import { stabilityScore, STABILITY_POLICY, type RollbackEvent, type StabilityInputs, type StabilityReport } from '../ops/stability';
import type { OpsReportData } from '../ops/report';
import type { DailySnapshot, RolloutTimeline } from '../ops/snapshot';

/**
 * The operations view's reads over what is already recorded (forecast runs, query log,
 * cache_stats, gate results, rollouts, prefetch runs), the GC figures of a run, and the daily
 * snapshots.
 */

type Queryable = Pool | PoolClient;
const DAY_MS = 86_400_000;
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const dayOf = (d: Date | string) => new Date(d).toISOString().slice(0, 10);

// ---- GC and RSS of a run -------------------------------------------------------------------------

/** A run's GC figures summed over its batches, and its RSS per batch; runs when the forecasting phase ends. */
export async function recordRunGc(c: Queryable, runId: string): Promise<void> {
  await c.query(
    `UPDATE forecast_runs r SET gc_count = b.gc_count, gc_total_ms = b.gc_total_ms, gc_max_ms = b.gc_max_ms, rss_samples = b.rss
     FROM (SELECT sum(gc_count)::int AS gc_count, sum(gc_total_ms) AS gc_total_ms, max(gc_max_ms) AS gc_max_ms,
                  json_agg(json_build_object('batch', batch_index, 'startMb', rss_start_mb, 'peakMb', peak_rss_mb, 'endMb', rss_end_mb)
                           ORDER BY batch_index) AS rss
           FROM forecast_batches WHERE run_id = $1) b
     WHERE r.id = $1`,
    [runId],
  );
}

// ---- stability ---------------------------------------------------------------------------------

interface Window {
  from: Date;
  to: Date;
  label: string;
}

export async function loadStabilityInputs(pool: Pool, environment: string, w: Window): Promise<StabilityInputs> {
  const args = [environment, w.from, w.to];
  const runs = await pool.query(
    `SELECT id, status, duration_ms, finished_at, error FROM forecast_runs
     WHERE environment = $1 AND status IN ('completed', 'failed') AND finished_at >= $2 AND finished_at < $3 ORDER BY finished_at`,
    args,
  );
  const api = await pool.query(
    `SELECT (created_at AT TIME ZONE 'UTC')::date::text AS day, count(*)::int AS total,
            count(*) FILTER (WHERE duration_ms <= $4)::int AS good
     FROM query_log WHERE environment = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1 ORDER BY 1`,
    [...args, STABILITY_POLICY.apiLatencySloMs],
  );
  const cache = await pool.query(
    `SELECT (minute AT TIME ZONE 'UTC')::date::text AS day, sum(hits + misses)::bigint AS total, sum(hits)::bigint AS good
     FROM cache_stats WHERE environment = $1 AND minute >= $2 AND minute < $3 GROUP BY 1 ORDER BY 1`,
    args,
  );
  const gates = await pool.query(
    `SELECT count(*)::int AS evaluations, count(*) FILTER (WHERE status = 'fail')::int AS failed
     FROM gate_results WHERE environment = $1 AND evaluated_at >= $2 AND evaluated_at < $3`,
    args,
  );
  return {
    environment,
    window: { from: w.from.toISOString(), to: w.to.toISOString(), label: w.label },
    runs: runs.rows.map((r) => ({ id: r.id, status: r.status, durationMs: r.duration_ms, at: iso(r.finished_at)!, error: r.error })),
    apiDays: api.rows.map((r) => ({ day: r.day, good: Number(r.good), total: Number(r.total) })),
    cacheDays: cache.rows.map((r) => ({ day: r.day, good: Number(r.good), total: Number(r.total) })),
    gates: gates.rows[0],
    rollbacks: await automaticRollbacks(pool, environment, w.from, w.to),
  };
}

/** Rollouts whose automatic rollback restored this environment within [from, to). */
export async function automaticRollbacks(pool: Pool, environment: string, from: Date, to: Date): Promise<RollbackEvent[]> {
  const { rows } = await pool.query<{ release: string; rollback: { reason: string; requestedAt: string; completedAt?: string; restored: string[] } }>(
    `SELECT release, decision->'rollback' AS rollback FROM rollouts WHERE (decision->'rollback'->>'automatic')::boolean`,
  );
  return rows
    .map((r) => ({ release: r.release, reason: r.rollback.reason, at: r.rollback.completedAt ?? r.rollback.requestedAt, restored: r.rollback.restored ?? [] }))
    .filter((r) => r.restored.includes(environment) && r.at >= from.toISOString() && r.at < to.toISOString())
    .map(({ release, reason, at }) => ({ release, reason, at }));
}

export async function stabilityFor(pool: Pool, environment: string, w: Window): Promise<StabilityReport> {
  return stabilityScore(await loadStabilityInputs(pool, environment, w));
}

// ---- daily snapshot ----------------------------------------------------------------------------

/** Everything the daily snapshot reports for one environment and UTC day, from what is recorded. */
export async function loadDailySnapshot(pool: Pool, environment: string, day: string): Promise<DailySnapshot> {
  const from = new Date(`${day}T00:00:00.000Z`);
  const to = new Date(from.getTime() + DAY_MS);
  const runs = await pool.query(
    `SELECT id, status, duration_ms, peak_rss_mb, peak_memory_pct, mape, outlier_count, outlier_skus, gc_count, gc_total_ms, gc_max_ms
     FROM forecast_runs WHERE environment = $1 AND started_at >= $2 AND started_at < $3 ORDER BY started_at`,
    [environment, from, to],
  );
  const prefetches = await pool.query(
    `SELECT id, trigger, status, keys_warmed, duration_ms, started_at FROM prefetch_runs
     WHERE environment = $1 AND started_at >= $2 AND started_at < $3 ORDER BY started_at`,
    [environment, from, to],
  );
  const config = await getEnvironmentConfig(pool, environment);
  const day_ = await hitRate(pool, environment, from, to);
  const peaks = [];
  for (const w of peakWindows(config)) {
    const start = new Date(from.getTime() + w.startMinute * 60_000);
    const r = await hitRate(pool, environment, start, new Date(start.getTime() + 3_600_000));
    peaks.push({ label: w.label, start: start.toISOString(), hits: Number(r.hits), misses: Number(r.misses) });
  }
  const inFlight = await pool.query(
    `SELECT release, status, stage, started_at FROM rollouts
     WHERE started_at < $1 AND (finished_at IS NULL OR finished_at >= $1) ORDER BY started_at`,
    [to],
  );
  return {
    environment,
    day,
    runs: runs.rows.map((r) => ({
      id: r.id,
      status: r.status,
      durationMs: r.duration_ms,
      peakRssMb: r.peak_rss_mb,
      peakMemoryPct: r.peak_memory_pct,
      mape: r.mape,
      outlierCount: r.outlier_count ?? (Array.isArray(r.outlier_skus) ? r.outlier_skus.length : null),
      gc: r.gc_count === null ? null : { count: r.gc_count, totalMs: r.gc_total_ms, maxMs: r.gc_max_ms },
    })),
    cache: { hits: Number(day_.hits), misses: Number(day_.misses) },
    peaks,
    prefetches: prefetches.rows.map((r) => ({ id: r.id, trigger: r.trigger, status: r.status, keys: r.keys_warmed, durationMs: r.duration_ms, at: iso(r.started_at)! })),
    stability: await stabilityFor(pool, environment, { from, to, label: '1d' }),
    releasesInFlight: inFlight.rows.map((r) => ({ release: r.release, status: r.status, stage: r.stage, startedAt: iso(r.started_at)! })),
  };
}

export async function saveDailySnapshot(pool: Pool, s: DailySnapshot, markdown: string): Promise<void> {
  await pool.query(
    `INSERT INTO daily_snapshots (environment, day, data, markdown) VALUES ($1, $2, $3, $4)
     ON CONFLICT (environment, day) DO UPDATE SET data = EXCLUDED.data, markdown = EXCLUDED.markdown, created_at = now()`,
    [s.environment, s.day, JSON.stringify(s), markdown],
  );
}

export async function getDailySnapshot(pool: Pool, environment: string, day: string): Promise<{ data: DailySnapshot; markdown: string; createdAt: string } | undefined> {
  const { rows } = await pool.query('SELECT data, markdown, created_at FROM daily_snapshots WHERE environment = $1 AND day = $2', [environment, day]);
  return rows[0] && { data: rows[0].data, markdown: rows[0].markdown, createdAt: iso(rows[0].created_at)! };
}

// ---- rollouts for the ops report ---------------------------------------------------------------

/** Rollouts active in [from, to) with their gate evaluations and decisions, oldest first. */
export async function rolloutTimelines(pool: Pool, from: Date, to: Date): Promise<RolloutTimeline[]> {
  const { rows } = await pool.query(
    `SELECT release, plan, status, stage, decision, started_at, finished_at, shadow FROM rollouts
     WHERE started_at < $2 AND (finished_at IS NULL OR finished_at >= $1) ORDER BY started_at`,
    [from, to],
  );
  const out: RolloutTimeline[] = [];
  for (const r of rows) {
    const gates = await pool.query(
      `SELECT environment, gate, status, measured, threshold, comparator, evaluated_at FROM gate_results WHERE release = $1 ORDER BY id`,
      [r.release],
    );
    const d = (r.decision ?? {}) as {
      decision?: { kind: string; by: string; reason: string; at: string } | null;
      approvals?: { role: string; by: string; at: string }[];
      rollback?: { by: string; reason: string; automatic: boolean; requestedAt: string } | null;
      confirmation?: { by: string; reason: string; at: string; acceptedInconclusive?: string[] } | null;
    };
    const events = [
      ...(d.approvals ?? []).map((a) => ({ at: a.at, kind: 'sign-off', text: `${a.role} signed off (${a.by})` })),
      ...(d.decision ? [{ at: d.decision.at, kind: d.decision.kind, text: `${d.decision.kind.toUpperCase()} by ${d.decision.by}: ${d.decision.reason}` }] : []),
      ...(d.confirmation
        ? [{ at: d.confirmation.at, kind: 'confirm', text: `CONFIRM by ${d.confirmation.by} (inconclusive: ${d.confirmation.acceptedInconclusive?.join(', ') || 'none'}): ${d.confirmation.reason}` }]
        : []),
      ...(d.rollback ? [{ at: d.rollback.requestedAt, kind: 'rollback', text: `${d.rollback.automatic ? 'automatic ' : ''}rollback by ${d.rollback.by}: ${d.rollback.reason}` }] : []),
    ].sort((a, b) => a.at.localeCompare(b.at));
    out.push({
      release: r.release,
      plan: r.plan,
      status: r.status,
      stage: r.stage,
      startedAt: iso(r.started_at)!,
      finishedAt: iso(r.finished_at),
      gates: gates.rows.map((g) => ({
        environment: g.environment,
        gate: g.gate,
        status: g.status,
        measured: g.measured,
        threshold: g.threshold,
        comparator: g.comparator,
        at: iso(g.evaluated_at)!,
      })),
      events,
      shadow: r.shadow ?? null,
    });
  }
  return out;
}

/** The last `days` UTC days up to and including the day of `to`, measured live from the records. */
export async function loadOpsReport(pool: Pool, environment: string, days: number, to = new Date()): Promise<OpsReportData> {
  const lastDay = dayOf(to);
  const first = new Date(Date.parse(`${lastDay}T00:00:00.000Z`) - (days - 1) * DAY_MS);
  const snapshots: DailySnapshot[] = [];
  for (let i = 0; i < days; i++) snapshots.push(await loadDailySnapshot(pool, environment, dayOf(new Date(first.getTime() + i * DAY_MS))));
  return {
    environment,
    from: first.toISOString(),
    to: to.toISOString(),
    days: snapshots,
    stability: await stabilityFor(pool, environment, { from: first, to, label: `${days}d` }),
    rollouts: await rolloutTimelines(pool, first, to),
  };
}

import type { Pool } from 'pg';
import { hitRate } from '../cache/stats';
import type { GateData, HitCounts, RunSample, SkuAccuracySample } from '../rollout/gates';
import type { Environment, GateResult, RolloutStatus } from '../rollout/types';

/** Rollouts, their gate results and releases; and the window queries the gates measure from. */

export async function insertRollout(
  pool: Pool,
  r: { release: string; workflowId: string; plan?: string; description: string; author: string; changes: Record<string, unknown> },
): Promise<void> {
  // A release tag may be rolled out again (e.g. after a rollback): the row is the latest attempt.
  await pool.query(
    `INSERT INTO rollouts (release, workflow_id, plan, description, author, status, stage, changes)
     VALUES ($1, $2, $3, $4, $5, 'running', 'prepare', $6)
     ON CONFLICT (release) DO UPDATE SET workflow_id = EXCLUDED.workflow_id, plan = EXCLUDED.plan,
       description = EXCLUDED.description, author = EXCLUDED.author, status = 'running', stage = 'prepare',
       changes = EXCLUDED.changes, snapshot = NULL, decision = NULL, started_at = now(), finished_at = NULL`,
    [r.release, r.workflowId, r.plan ?? null, r.description, r.author, JSON.stringify(r.changes)],
  );
}

const FINISHED = ['completed', 'rolled-back', 'no-go', 'failed'];

export async function updateRollout(pool: Pool, s: RolloutStatus): Promise<void> {
  const snapshot = Object.fromEntries(Object.entries(s.changes.environments).map(([env, c]) => [env, c?.snapshot]));
  const decision = { decision: s.decision ?? null, approvals: s.approvals.received, rollback: s.rollback ?? null, confirmation: s.confirmation ?? null };
  await pool.query(
    `UPDATE rollouts SET status = $2, stage = $3, snapshot = $4, decision = $5,
       finished_at = CASE WHEN $6 THEN COALESCE(finished_at, now()) ELSE NULL END, shadow = $7
     WHERE release = $1`,
    [s.release, s.state, s.stage, JSON.stringify(snapshot), JSON.stringify(decision), FINISHED.includes(s.state), s.shadow ? JSON.stringify(s.shadow) : null],
  );
}

export interface RolloutRow {
  release: string;
  workflowId: string;
  plan: string | null;
  author: string;
  status: string;
  stage: string;
  startedAt: string;
  finishedAt: string | null;
}

export async function getRollout(pool: Pool, release: string): Promise<RolloutRow | undefined> {
  const { rows } = await pool.query('SELECT * FROM rollouts WHERE release = $1', [release]);
  const r = rows[0];
  return r
    ? {
        release: r.release,
        workflowId: r.workflow_id,
        plan: r.plan,
        author: r.author,
        status: r.status,
        stage: r.stage,
        startedAt: (r.started_at as Date).toISOString(),
        finishedAt: r.finished_at ? (r.finished_at as Date).toISOString() : null,
      }
    : undefined;
}

export async function insertGateResults(pool: Pool, release: string, results: GateResult[]): Promise<void> {
  if (!results.length) return;
  const values: unknown[] = [];
  const rows = results.map((g, i) => {
    values.push(release, g.environment, g.gate, g.status, g.measured, g.threshold, g.comparator, g.windowStart, g.windowEnd);
    const b = i * 9;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9})`;
  });
  await pool.query(
    `INSERT INTO gate_results (release, environment, gate, status, measured, threshold, comparator, window_start, window_end)
     VALUES ${rows.join(', ')}`,
    values,
  );
}

export interface GateResultRow {
  environment: string;
  gate: string;
  status: string;
  measured: number | null;
  threshold: number | null;
  comparator: string | null;
  windowStart: string | null;
  windowEnd: string | null;
  evaluatedAt: string;
}

export async function gateResultsFor(pool: Pool, release: string): Promise<GateResultRow[]> {
  const { rows } = await pool.query(
    `SELECT environment, gate, status, measured, threshold, comparator, window_start, window_end, evaluated_at
     FROM gate_results WHERE release = $1 ORDER BY id`,
    [release],
  );
  const t = (d: Date | null) => (d ? d.toISOString() : null);
  return rows.map((r) => ({
    environment: r.environment,
    gate: r.gate,
    status: r.status,
    measured: r.measured,
    threshold: r.threshold,
    comparator: r.comparator,
    windowStart: t(r.window_start),
    windowEnd: t(r.window_end),
    evaluatedAt: (r.evaluated_at as Date).toISOString(),
  }));
}

export async function saveRelease(
  pool: Pool,
  r: { release: string; tag: string; status: string; changelog: string; report: string },
): Promise<void> {
  await pool.query(
    `INSERT INTO releases (release, tag, status, changelog, report) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (release) DO UPDATE SET tag = EXCLUDED.tag, status = EXCLUDED.status, changelog = EXCLUDED.changelog,
       report = EXCLUDED.report, created_at = now()`,
    [r.release, r.tag, r.status, r.changelog, r.report],
  );
}

export interface ReleaseRow {
  release: string;
  tag: string;
  status: string;
  changelog: string;
  report: string;
  createdAt: string;
}

const toRelease = (r: Record<string, unknown>): ReleaseRow => ({
  release: r.release as string,
  tag: r.tag as string,
  status: r.status as string,
  changelog: r.changelog as string,
  report: r.report as string,
  createdAt: (r.created_at as Date).toISOString(),
});

/** One release, or the latest one when no tag is given. */
export async function getRelease(pool: Pool, release?: string): Promise<ReleaseRow | undefined> {
  const { rows } = release
    ? await pool.query('SELECT * FROM releases WHERE release = $1', [release])
    : await pool.query('SELECT * FROM releases ORDER BY created_at DESC, release LIMIT 1');
  return rows[0] ? toRelease(rows[0]) : undefined;
}

/** All releases, newest first (the CHANGELOG_ops file lists every entry). */
export async function listReleases(pool: Pool): Promise<ReleaseRow[]> {
  const { rows } = await pool.query('SELECT * FROM releases ORDER BY created_at DESC, release');
  return rows.map(toRelease);
}

// ---- gate data ----------------------------------------------------------------------------------

/** outlier_skus is a JSON list of SKU ids or of objects naming one ({sku|skuId|sku_id|id}). */
export function outlierIds(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((x) => (typeof x === 'string' ? x : x && typeof x === 'object' ? ((x as Record<string, unknown>).sku ?? (x as Record<string, unknown>).skuId ?? (x as Record<string, unknown>).sku_id ?? (x as Record<string, unknown>).id) : undefined))
    .filter((x): x is string => typeof x === 'string');
}

const toRun = (r: Record<string, unknown>): RunSample => ({
  id: r.id as string,
  durationMs: r.duration_ms as number | null,
  peakMemoryPct: r.peak_memory_pct as number | null,
  mape: r.mape as number | null,
  outlierSkus: outlierIds(r.outlier_skus),
  gcMaxMs: r.gc_max_ms as number | null,
});

const RUN_COLUMNS = 'id, duration_ms, peak_memory_pct, mape, outlier_skus, gc_max_ms';

export interface GateWindow {
  environment: Environment;
  from: string;
  to: string;
  /** Pre-change runs: completed in [baselineFrom, baselineTo]; else the last one before baselineTo. */
  baselineFrom?: string;
  baselineTo?: string;
}

export async function loadGateData(pool: Pool, w: GateWindow, flagged: (runs: RunSample[], base: RunSample[]) => string[]): Promise<GateData> {
  const runs = (
    await pool.query(
      `SELECT ${RUN_COLUMNS} FROM forecast_runs WHERE environment = $1 AND status = 'completed'
       AND started_at >= $2 AND finished_at <= $3 ORDER BY started_at`,
      [w.environment, w.from, w.to],
    )
  ).rows.map(toRun);

  let baselineRuns: RunSample[] = [];
  if (w.baselineTo) {
    baselineRuns = (
      await pool.query(
        `SELECT ${RUN_COLUMNS} FROM forecast_runs WHERE environment = $1 AND status = 'completed'
         AND started_at >= $2 AND finished_at <= $3 ORDER BY started_at`,
        [w.environment, w.baselineFrom ?? w.baselineTo, w.baselineTo],
      )
    ).rows.map(toRun);
    if (!baselineRuns.length) {
      baselineRuns = (
        await pool.query(
          `SELECT ${RUN_COLUMNS} FROM forecast_runs WHERE environment = $1 AND status = 'completed'
           AND finished_at <= $2 ORDER BY finished_at DESC LIMIT 1`,
          [w.environment, w.baselineTo],
        )
      ).rows.map(toRun);
    }
  }

  const prefetches = (
    await pool.query(
      `SELECT duration_ms, memory_impact_pct FROM prefetch_runs WHERE environment = $1 AND status = 'completed'
       AND started_at >= $2 AND finished_at <= $3`,
      [w.environment, w.from, w.to],
    )
  ).rows.map((r) => ({ durationMs: r.duration_ms, memoryImpactPct: r.memory_impact_pct }));

  // Hit rates come from the cache's own accounting (cache_stats, peak windows from config).
  const counts = async (peakOnly: boolean): Promise<HitCounts> => {
    const r = await hitRate(pool, w.environment, new Date(w.from), new Date(w.to), { peakOnly });
    return { hits: Number(r.hits), misses: Number(r.misses) };
  };

  const outlierAccuracy = await accuracyOf(pool, w.environment, runs.map((r) => r.id), flagged(runs, baselineRuns));

  return { runs, baselineRuns, prefetches, cache: await counts(false), peakCache: await counts(true), outlierAccuracy };
}

/** Per-SKU accuracy rows of these runs for these SKUs (a gate's flagged outliers, a cohort). */
export async function accuracyOf(pool: Pool, environment: string, runIds: string[], skus: string[]): Promise<SkuAccuracySample[]> {
  if (!runIds.length || !skus.length) return [];
  const { rows } = await pool.query<{ run_id: string; sku_id: string; mape: number | null }>(
    'SELECT run_id, sku_id, mape FROM sku_accuracy WHERE environment = $1 AND run_id = ANY($2) AND sku_id = ANY($3)',
    [environment, runIds, skus],
  );
  return rows.map((r) => ({ runId: r.run_id, skuId: r.sku_id, mape: r.mape }));
}

/** The latest completed forecast run of the environment that finished at or after `from`, with its MAPE (the hybrid fallback's measure). */
export async function latestRunMape(pool: Pool, environment: string, from: string): Promise<{ runId: string; mape: number | null; finishedAt: string } | undefined> {
  const { rows } = await pool.query<{ id: string; mape: number | null; finished_at: Date }>(
    `SELECT id, mape, finished_at FROM forecast_runs WHERE environment = $1 AND status = 'completed' AND finished_at >= $2
     ORDER BY finished_at DESC LIMIT 1`,
    [environment, from],
  );
  return rows[0] && { runId: rows[0].id, mape: rows[0].mape, finishedAt: rows[0].finished_at.toISOString() };
}

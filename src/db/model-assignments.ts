import type { Pool, PoolClient } from 'pg';
import { withTransaction } from './pool';

/**
 * Per-SKU model assignments (migration 012): what serves a SKU in an environment instead of its
 * policy, with the cohort and release that set it; every change is a history row. An environment's
 * assignment writes are serialised and a write that changes nothing writes nothing, like config.
 */

type Queryable = Pool | PoolClient;

export interface Assignment {
  sku: string;
  serves: string;
  cohort: string | null;
  release: string | null;
  since: string;
  setBy: string;
}

/** One SKU's assignment to write; serves null removes it (the SKU goes back to the environment's policy). */
export interface AssignmentChange {
  sku: string;
  serves: string | null;
  cohort?: string | null;
  release?: string | null;
}

export interface AssignmentWrite {
  environment: string;
  changes: AssignmentChange[];
  by: string;
  reason?: string;
}

export interface AssignmentHistoryRow {
  sku: string;
  oldServes: string | null;
  newServes: string | null;
  oldCohort: string | null;
  newCohort: string | null;
  release: string | null;
  changedBy: string;
  reason: string | null;
  changedAt: string;
}

type Row = { sku_id: string; serves: string; cohort: string | null; release: string | null; since: Date; set_by: string };
const toAssignment = (r: Row): Assignment => ({ sku: r.sku_id, serves: r.serves, cohort: r.cohort, release: r.release, since: r.since.toISOString(), setBy: r.set_by });

/**
 * Writes the changes in one transaction (all or nothing); returns how many rows changed. Unknown
 * SKUs fail the whole write naming them (the foreign key would, with a less helpful message).
 */
export async function writeAssignments(pool: Pool, w: AssignmentWrite): Promise<{ changed: number; unchanged: number }> {
  return withTransaction(pool, (c) => writeAssignmentsIn(c, w));
}

/**
 * writeAssignments inside the caller's transaction, set-based (a few statements whatever the number
 * of SKUs: a rollback of a 30,000-SKU cohort is one transaction, not 120,000 queries). Writes of an
 * environment's assignments are serialised by one lock per environment: per-SKU locks would exhaust
 * PostgreSQL's lock table on a large cohort, and assignment writes are rare.
 */
async function writeAssignmentsIn(c: PoolClient, w: AssignmentWrite): Promise<{ changed: number; unchanged: number }> {
  const skus = w.changes.map((ch) => ch.sku);
  if (new Set(skus).size !== skus.length) throw new RangeError('a SKU is listed twice in one assignment write');
  if (!skus.length) return { changed: 0, unchanged: 0 };
  const unknown = await c.query<{ id: string }>('SELECT s AS id FROM unnest($1::text[]) s WHERE NOT EXISTS (SELECT 1 FROM skus WHERE id = s) ORDER BY 1 LIMIT 10', [skus]);
  if (unknown.rows.length) throw new RangeError(`unknown SKU ${unknown.rows.map((r) => r.id).join(', ')}`);
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`assignments:${w.environment}`]);
  const current = await assignmentsOf(c, w.environment, skus);
  // What changes: the new value differs from the current one in serves, cohort or release.
  const changed = w.changes
    .map((ch) => ({ ...ch, cohort: ch.serves === null ? null : (ch.cohort ?? null), release: ch.serves === null ? null : (ch.release ?? null), cur: current.get(ch.sku) }))
    .filter((ch) => (ch.cur?.serves ?? null) !== ch.serves || (ch.cur?.cohort ?? null) !== ch.cohort || (ch.cur?.release ?? null) !== ch.release)
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  const removed = changed.filter((ch) => ch.serves === null).map((ch) => ch.sku);
  const set = changed.filter((ch) => ch.serves !== null);
  if (removed.length) await c.query('DELETE FROM model_assignments WHERE environment = $1 AND sku_id = ANY($2)', [w.environment, removed]);
  if (set.length) {
    await c.query(
      `INSERT INTO model_assignments (environment, sku_id, serves, cohort, release, set_by)
       SELECT $1::text, *, $6::text FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
       ON CONFLICT (environment, sku_id) DO UPDATE SET serves = EXCLUDED.serves, cohort = EXCLUDED.cohort,
         release = EXCLUDED.release, set_by = EXCLUDED.set_by, since = now()`,
      [w.environment, set.map((ch) => ch.sku), set.map((ch) => ch.serves), set.map((ch) => ch.cohort), set.map((ch) => ch.release), w.by],
    );
  }
  if (changed.length) {
    const col = <T>(f: (ch: (typeof changed)[number]) => T) => changed.map(f);
    await c.query(
      `INSERT INTO model_assignment_history (environment, sku_id, old_serves, new_serves, old_cohort, new_cohort, release, changed_by, reason)
       SELECT $1::text, *, $8::text, $9::text FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
      [
        w.environment,
        col((ch) => ch.sku),
        col((ch) => ch.cur?.serves ?? null),
        col((ch) => ch.serves),
        col((ch) => ch.cur?.cohort ?? null),
        col((ch) => ch.cohort),
        col((ch) => ch.release ?? ch.cur?.release ?? null),
        w.by,
        w.reason ?? null,
      ],
    );
  }
  return { changed: changed.length, unchanged: w.changes.length - changed.length };
}

/** A cohort step's write by a rollout: who it is, what the cohort's SKUs are assigned. */
export interface RolloutAssignmentWrite {
  workflowId: string;
  release: string;
  environment: string;
  cohort: string;
  serves: string;
  skus: string[];
  by: string;
  reason: string;
}

/**
 * Assigns a cohort for a rollout, in one transaction: first the snapshot of what each SKU had (kept
 * from the first attempt: a retry after a success snapshots nothing new), then the assignment.
 * SKUs the rollout already assigned in an earlier step keep that step's cohort.
 */
export async function assignForRollout(pool: Pool, w: RolloutAssignmentWrite): Promise<{ assigned: string[] }> {
  return withTransaction(pool, async (c) => {
    await c.query(
      `INSERT INTO rollout_assignment_snapshots (workflow_id, environment, sku_id, release, prior_serves, prior_cohort, prior_release)
       SELECT $1, $2, s, $3, a.serves, a.cohort, a.release FROM unnest($4::text[]) s
       LEFT JOIN model_assignments a ON a.environment = $2 AND a.sku_id = s
       ON CONFLICT (workflow_id, environment, sku_id) DO NOTHING`,
      [w.workflowId, w.environment, w.release, w.skus],
    );
    const mine = await assignmentsOf(c, w.environment, w.skus);
    const fresh = w.skus.filter((sku) => mine.get(sku)?.release !== w.release);
    await writeAssignmentsIn(c, {
      environment: w.environment,
      changes: fresh.map((sku) => ({ sku, serves: w.serves, cohort: w.cohort, release: w.release })),
      by: w.by,
      reason: w.reason,
    });
    return { assigned: fresh };
  });
}

/**
 * A rollout's rollback of its assignments: every snapshotted SKU that still holds what the rollout
 * wrote gets its prior assignment back (none: back to the policy); a SKU someone re-assigned since,
 * or that left the catalogue, is left as it is and named. Idempotent: restored rows are marked.
 */
export async function restoreRolloutAssignments(
  pool: Pool,
  r: { workflowId: string; environment: string; release: string; by: string; reason: string },
): Promise<{ restored: number; skipped: string[] }> {
  return withTransaction(pool, async (c) => {
    const { rows } = await c.query<{ sku_id: string; prior_serves: string | null; prior_cohort: string | null; prior_release: string | null; live_release: string | null; known: boolean }>(
      `SELECT p.sku_id, p.prior_serves, p.prior_cohort, p.prior_release, a.release AS live_release, EXISTS (SELECT 1 FROM skus WHERE id = p.sku_id) AS known
       FROM rollout_assignment_snapshots p
       LEFT JOIN model_assignments a ON a.environment = p.environment AND a.sku_id = p.sku_id
       WHERE p.workflow_id = $1 AND p.environment = $2 AND p.restored_at IS NULL ORDER BY p.sku_id`,
      [r.workflowId, r.environment],
    );
    const back = rows.filter((x) => x.known && x.live_release === r.release);
    await writeAssignmentsIn(c, {
      environment: r.environment,
      changes: back.map((x) => ({ sku: x.sku_id, serves: x.prior_serves, cohort: x.prior_cohort, release: x.prior_release })),
      by: r.by,
      reason: r.reason,
    });
    await c.query('UPDATE rollout_assignment_snapshots SET restored_at = now() WHERE workflow_id = $1 AND environment = $2 AND restored_at IS NULL', [r.workflowId, r.environment]);
    return { restored: back.length, skipped: rows.filter((x) => !back.includes(x)).map((x) => x.sku_id) };
  });
}

/** The assignments of these SKUs (all of the environment's without a list). */
export async function assignmentsOf(c: Queryable, environment: string, skus?: string[]): Promise<Map<string, Assignment>> {
  const { rows } = await c.query<Row>(
    'SELECT * FROM model_assignments WHERE environment = $1 AND ($2::text[] IS NULL OR sku_id = ANY($2)) ORDER BY sku_id',
    [environment, skus ?? null],
  );
  return new Map(rows.map((r) => [r.sku_id, toAssignment(r)]));
}

/** SKUs of a cohort. */
export async function cohortSkus(c: Queryable, environment: string, cohort: string): Promise<string[]> {
  const { rows } = await c.query<{ sku_id: string }>('SELECT sku_id FROM model_assignments WHERE environment = $1 AND cohort = $2 ORDER BY sku_id', [environment, cohort]);
  return rows.map((r) => r.sku_id);
}

export async function assignmentHistory(pool: Pool, environment: string, sku: string | undefined, limit: number): Promise<AssignmentHistoryRow[]> {
  const { rows } = await pool.query<{
    sku_id: string; old_serves: string | null; new_serves: string | null; old_cohort: string | null; new_cohort: string | null;
    release: string | null; changed_by: string; reason: string | null; changed_at: Date;
  }>(
    `SELECT * FROM model_assignment_history WHERE environment = $1 AND ($2::text IS NULL OR sku_id = $2) ORDER BY id DESC LIMIT $3`,
    [environment, sku ?? null, limit],
  );
  return rows.map((r) => ({
    sku: r.sku_id, oldServes: r.old_serves, newServes: r.new_serves, oldCohort: r.old_cohort, newCohort: r.new_cohort,
    release: r.release, changedBy: r.changed_by, reason: r.reason, changedAt: r.changed_at.toISOString(),
  }));
}

/** Records what served the run's assigned SKUs (idempotent: a retried batch writes the same rows). */
export async function recordRunAssignments(c: Queryable, runId: string, served: { sku: string; serves: string; cohort: string | null }[]): Promise<void> {
  if (!served.length) return;
  await c.query(
    `INSERT INTO run_assignments (run_id, sku_id, serves, cohort)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
     ON CONFLICT (run_id, sku_id) DO UPDATE SET serves = EXCLUDED.serves, cohort = EXCLUDED.cohort`,
    [runId, served.map((s) => s.sku), served.map((s) => s.serves), served.map((s) => s.cohort)],
  );
}

export interface ServedModel {
  sku: string;
  /** The model of the SKU's forecast in the environment's current run (null: none yet). */
  model: string | null;
  source: 'assignment' | 'policy';
  cohort: string | null;
  release: string | null;
  since: string | null;
}

/** Every SKU of the catalogue (or one) with what serves it: `neuro models list`. */
export async function servedModels(pool: Pool, environment: string, sku?: string): Promise<ServedModel[]> {
  const { rows } = await pool.query<{ sku_id: string; model: string | null; serves: string | null; cohort: string | null; release: string | null; since: Date | null }>(
    `SELECT s.id AS sku_id, f.model, a.serves, a.cohort, a.release, a.since
     FROM skus s
     LEFT JOIN model_assignments a ON a.environment = $1 AND a.sku_id = s.id
     LEFT JOIN LATERAL (
       SELECT model FROM forecasts WHERE environment = $1 AND sku_id = s.id
         AND run_id = (SELECT run_id FROM current_forecast_run WHERE environment = $1) LIMIT 1
     ) f ON true
     WHERE $2::text IS NULL OR s.id = $2
     ORDER BY s.id`,
    [environment, sku ?? null],
  );
  return rows.map((r) => ({
    sku: r.sku_id,
    model: r.model,
    source: r.serves === null ? 'policy' : 'assignment',
    cohort: r.cohort,
    release: r.release,
    since: r.since ? r.since.toISOString() : null,
  }));
}

import type { Pool } from 'pg';
import type { RevertFacts } from '../rollout/revert';
import type { Environment } from '../rollout/types';

/** Release reverts (migration 010) and the facts a revert is decided on. */

export interface RevertRow {
  id: number;
  release: string;
  workflowId: string;
  requestedBy: string;
  reason: string;
  status: string;
  detail: { restored?: string[]; error?: string; conflicts?: unknown[] };
  startedAt: string;
  finishedAt: string | null;
}

const toRevert = (r: Record<string, unknown>): RevertRow => ({
  id: Number(r.id),
  release: r.release as string,
  workflowId: r.workflow_id as string,
  requestedBy: r.requested_by as string,
  reason: r.reason as string,
  status: r.status as string,
  detail: r.detail as RevertRow['detail'],
  startedAt: (r.started_at as Date).toISOString(),
  finishedAt: r.finished_at ? (r.finished_at as Date).toISOString() : null,
});

/** Every revert attempt of a release, oldest first. */
export async function revertsOf(pool: Pool, release: string): Promise<RevertRow[]> {
  const { rows } = await pool.query('SELECT * FROM release_reverts WHERE release = $1 ORDER BY id', [release]);
  return rows.map(toRevert);
}

export async function insertRevert(pool: Pool, r: { release: string; workflowId: string; by: string; reason: string; status: string; detail?: object }): Promise<number> {
  const finished = r.status !== 'running';
  const { rows } = await pool.query(
    `INSERT INTO release_reverts (release, workflow_id, requested_by, reason, status, detail, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END) RETURNING id`,
    [r.release, r.workflowId, r.by, r.reason, r.status, JSON.stringify(r.detail ?? {}), finished],
  );
  return Number(rows[0].id);
}

export async function finishRevert(pool: Pool, id: number, status: string, detail: object): Promise<void> {
  await pool.query('UPDATE release_reverts SET status = $2, detail = $3, finished_at = COALESCE(finished_at, now()) WHERE id = $1', [id, status, JSON.stringify(detail)]);
}

/** The release's rollout row, its latest completed revert and its keys' audit since it started. */
export async function revertFacts(pool: Pool, release: string): Promise<RevertFacts> {
  const ro = (await pool.query('SELECT status, changes, snapshot, started_at, finished_at FROM rollouts WHERE release = $1', [release])).rows[0];
  if (!ro) return { release, history: [] };
  const last = (
    await pool.query(`SELECT workflow_id, requested_by, finished_at FROM release_reverts WHERE release = $1 AND status = 'completed' ORDER BY id DESC LIMIT 1`, [release])
  ).rows[0];
  const keys = Object.keys(ro.changes ?? {});
  const { rows } = await pool.query(
    `SELECT environment, key, version, changed_by, changed_at FROM config_history
     WHERE key = ANY($1) AND changed_at >= $2 ORDER BY environment, key, version`,
    [keys, ro.started_at],
  );
  return {
    release,
    rollout: {
      status: ro.status,
      startedAt: (ro.started_at as Date).toISOString(),
      finishedAt: ro.finished_at ? (ro.finished_at as Date).toISOString() : null,
      changes: ro.changes,
      snapshot: ro.snapshot ?? {},
    },
    ...(last ? { lastRevert: { workflowId: last.workflow_id, by: last.requested_by, finishedAt: (last.finished_at as Date).toISOString() } } : {}),
    history: rows.map((h) => ({ environment: h.environment as Environment, key: h.key, version: h.version, changedBy: h.changed_by, changedAt: (h.changed_at as Date).toISOString() })),
  };
}

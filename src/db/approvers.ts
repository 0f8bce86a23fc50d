import type { Pool, PoolClient } from 'pg';
import { nameKey, normalizeName } from '../rollout/names';
import { withTransaction } from './pool';

/**
 * The approvers roster (migration 009): names, roles and Ed25519 public keys, with an audit row
 * per change. Who may change it is checked by the callers (the admin token); these functions
 * validate the data and keep each change and its audit row in one transaction.
 */

export interface Approver {
  id: number;
  name: string;
  nameKey: string;
  roles: string[];
  publicKey: string;
  addedAt: string;
  addedBy: string;
  removedAt: string | null;
  removedBy: string | null;
}

export interface ApproverAuditRow {
  at: string;
  actor: string;
  action: 'add' | 'remove' | 'rotate-key';
  name: string;
  detail: Record<string, unknown>;
}

/** The API's own entry (its key is derived from ADMIN_TOKEN): it may roll back, nothing else. */
export const API_SIGNER = 'api';
export const API_ROLE = 'admin';

export class RosterError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RosterError';
  }
}

const ROLE = /^[a-z][a-z0-9-]*$/;
const MAX_NAME = 100;

const toApprover = (r: Record<string, unknown>): Approver => ({
  id: Number(r.id),
  name: r.name as string,
  nameKey: r.name_key as string,
  roles: r.roles as string[],
  publicKey: r.public_key as string,
  addedAt: (r.added_at as Date).toISOString(),
  addedBy: r.added_by as string,
  removedAt: r.removed_at ? (r.removed_at as Date).toISOString() : null,
  removedBy: (r.removed_by as string | null) ?? null,
});

/** The stored form of a name, refused when empty, too long or with control characters. */
export function validName(raw: string): string {
  const name = normalizeName(raw);
  if (!name) throw new RosterError('--name: a name is required');
  if (name.length > MAX_NAME) throw new RosterError(`--name: at most ${MAX_NAME} characters (got ${name.length})`);
  if (/\p{Cc}/u.test(name)) throw new RosterError('--name: control characters are not allowed');
  return name;
}

export function validRoles(roles: string[]): string[] {
  if (!roles.length) throw new RosterError('--role: at least one role is required (e.g. --role devops-lead)');
  for (const r of roles) if (!ROLE.test(r)) throw new RosterError(`--role: "${r.slice(0, 40)}" is not a role (lower-case words with dashes, e.g. devops-lead)`);
  return [...new Set(roles)];
}

async function audit(c: PoolClient, a: { actor: string; action: ApproverAuditRow['action']; approverId: number; name: string; detail: Record<string, unknown> }) {
  await c.query('INSERT INTO approver_audit (actor, action, approver_id, name, detail) VALUES ($1, $2, $3, $4, $5)', [a.actor, a.action, a.approverId, a.name, JSON.stringify(a.detail)]);
}

/** The active approver whose name folds to the same key, if any. */
export async function findApprover(pool: Pool | PoolClient, name: string): Promise<Approver | undefined> {
  const { rows } = await pool.query('SELECT * FROM approvers WHERE name_key = $1 AND removed_at IS NULL', [nameKey(name)]);
  return rows[0] ? toApprover(rows[0]) : undefined;
}

/** The latest removed entry of a name (to say "removed" rather than "unknown"). */
export async function findRemovedApprover(pool: Pool, name: string): Promise<Approver | undefined> {
  const { rows } = await pool.query('SELECT * FROM approvers WHERE name_key = $1 AND removed_at IS NOT NULL ORDER BY removed_at DESC LIMIT 1', [nameKey(name)]);
  return rows[0] ? toApprover(rows[0]) : undefined;
}

export async function addApprover(pool: Pool, a: { name: string; roles: string[]; publicKey: string; actor: string }): Promise<Approver> {
  const name = validName(a.name);
  const roles = validRoles(a.roles);
  return withTransaction(pool, async (c) => {
    // Serialises adds of look-alike names; the partial unique index is the backstop.
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`approver:${nameKey(name)}`]);
    const clash = await findApprover(c, name);
    if (clash) {
      const same = clash.name === name ? `${name} is already on the roster` : `"${name}" looks like "${clash.name}", who is already on the roster`;
      throw new RosterError(`${same} (roles ${clash.roles.join(', ')}); remove them first to replace the entry`);
    }
    const { rows } = await c.query(
      'INSERT INTO approvers (name, name_key, roles, public_key, added_by) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [name, nameKey(name), roles, a.publicKey, a.actor],
    );
    const added = toApprover(rows[0]);
    await audit(c, { actor: a.actor, action: 'add', approverId: added.id, name, detail: { roles } });
    return added;
  });
}

export async function removeApprover(pool: Pool, a: { name: string; actor: string }): Promise<Approver> {
  return withTransaction(pool, async (c) => {
    const { rows } = await c.query(
      'UPDATE approvers SET removed_at = now(), removed_by = $2 WHERE name_key = $1 AND removed_at IS NULL RETURNING *',
      [nameKey(a.name), a.actor],
    );
    if (!rows[0]) throw new RosterError(`no active approver named "${normalizeName(a.name).slice(0, 60)}" (see neuro approvers list)`);
    const removed = toApprover(rows[0]);
    await audit(c, { actor: a.actor, action: 'remove', approverId: removed.id, name: removed.name, detail: { roles: removed.roles } });
    return removed;
  });
}

export async function listApprovers(pool: Pool, o: { includeRemoved?: boolean } = {}): Promise<Approver[]> {
  const { rows } = await pool.query(`SELECT * FROM approvers ${o.includeRemoved ? '' : 'WHERE removed_at IS NULL'} ORDER BY added_at, id`);
  return rows.map(toApprover);
}

export async function approverAudit(pool: Pool, limit = 100): Promise<ApproverAuditRow[]> {
  const { rows } = await pool.query('SELECT at, actor, action, name, detail FROM approver_audit ORDER BY id DESC LIMIT $1', [limit]);
  return rows.map((r) => ({ at: (r.at as Date).toISOString(), actor: r.actor, action: r.action, name: r.name, detail: r.detail }));
}

/** The roles of `roles` that no active approver holds. */
export async function rolesWithoutHolder(pool: Pool, roles: string[]): Promise<string[]> {
  if (!roles.length) return [];
  const { rows } = await pool.query<{ role: string }>('SELECT DISTINCT unnest(roles) AS role FROM approvers WHERE removed_at IS NULL');
  const held = new Set(rows.map((r) => r.role));
  return roles.filter((r) => !held.has(r));
}

/**
 * Rosters the API's signing key as "api" (role admin), or rotates it when ADMIN_TOKEN changed.
 * Returns what it did.
 */
export async function ensureApiSigner(pool: Pool, publicKey: string, actor = API_SIGNER): Promise<'added' | 'rotated' | 'unchanged'> {
  return withTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`approver:${API_SIGNER}`]);
    const current = await findApprover(c, API_SIGNER);
    if (current?.publicKey === publicKey) return 'unchanged';
    if (current) {
      await c.query('UPDATE approvers SET public_key = $2 WHERE id = $1', [current.id, publicKey]);
      await audit(c, { actor, action: 'rotate-key', approverId: current.id, name: API_SIGNER, detail: { reason: 'ADMIN_TOKEN changed' } });
      return 'rotated';
    }
    const { rows } = await c.query(
      'INSERT INTO approvers (name, name_key, roles, public_key, added_by) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [API_SIGNER, nameKey(API_SIGNER), [API_ROLE], publicKey, actor],
    );
    await audit(c, { actor, action: 'add', approverId: Number(rows[0].id), name: API_SIGNER, detail: { roles: [API_ROLE] } });
    return 'added';
  });
}

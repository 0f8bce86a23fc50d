import type { Pool } from 'pg';
import { withTransaction } from './pool';

/**
 * Key claims (migration 010): one unfinished release per (environment, key). A rollout or a release
 * revert claims every key it may change in every environment before it changes anything; the
 * table's primary key makes the claim atomic, so of two concurrent claimants exactly one wins.
 */

export interface ClaimOwner {
  release: string;
  workflowId: string;
  kind: 'rollout' | 'revert';
}

export interface KeyClaim extends ClaimOwner {
  environment: string;
  key: string;
  claimedAt: string;
}

/** Another unfinished release owns a key: the refusal names it. */
export class KeyClaimedError extends Error {
  constructor(readonly claims: KeyClaim[]) {
    const c = claims[0];
    const byKey = new Map<string, string[]>();
    for (const x of claims) byKey.set(x.key, [...(byKey.get(x.key) ?? []), x.environment]);
    const keys = [...byKey].map(([k, envs]) => `${k} (${envs.join(', ')})`).join(', ');
    super(
      `${keys} ${byKey.size > 1 ? 'are' : 'is'} owned by the unfinished ${c.kind} of release ${c.release} (workflow ${c.workflowId}, since ${c.claimedAt}); ` +
        `one release at a time per key and environment: wait for it to end or roll it back`,
    );
    this.name = 'KeyClaimedError';
  }
}

const toClaim = (r: Record<string, unknown>): KeyClaim => ({
  environment: r.environment as string,
  key: r.key as string,
  release: r.release as string,
  workflowId: r.workflow_id as string,
  kind: r.kind as ClaimOwner['kind'],
  claimedAt: (r.claimed_at as Date).toISOString(),
});

/**
 * Claims keys x environments for the owner, all or none. A claim held by a workflow that
 * `stillRunning` says has ended (terminated, timed out, gone) is stale and taken over; a live one
 * refuses the whole claim with KeyClaimedError. Claiming again with the same workflow id (an
 * activity retry) is a no-op.
 */
export async function claimKeys(
  pool: Pool,
  owner: ClaimOwner,
  environments: string[],
  keys: string[],
  stillRunning: (workflowId: string) => Promise<boolean>,
): Promise<{ tookOver: KeyClaim[] }> {
  // Sorted, so two claimants of overlapping keys wait on each other in the same order.
  const pairs = environments.flatMap((environment) => keys.map((key) => [environment, key] as const)).sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));
  const envs = pairs.map((p) => p[0]);
  const ks = pairs.map((p) => p[1]);
  return withTransaction(pool, async (c) => {
    const tookOver: KeyClaim[] = [];
    for (let attempt = 0; ; attempt++) {
      // DO NOTHING waits for a concurrent claimant's commit, so the SELECT below sees its rows.
      await c.query(
        `INSERT INTO release_key_claims (environment, key, release, workflow_id, kind)
         SELECT e, k, $3, $4, $5 FROM unnest($1::text[], $2::text[]) AS t(e, k)
         ON CONFLICT (environment, key) DO NOTHING`,
        [envs, ks, owner.release, owner.workflowId, owner.kind],
      );
      const { rows } = await c.query(
        `SELECT * FROM release_key_claims WHERE (environment, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))
         AND workflow_id <> $3 ORDER BY environment DESC, key`,
        [envs, ks, owner.workflowId],
      );
      const others = rows.map(toClaim);
      if (!others.length) return { tookOver };
      const live: KeyClaim[] = [];
      for (const id of [...new Set(others.map((o) => o.workflowId))]) {
        if (attempt === 0 && !(await stillRunning(id))) {
          await c.query('DELETE FROM release_key_claims WHERE workflow_id = $1', [id]);
          tookOver.push(...others.filter((o) => o.workflowId === id));
        } else live.push(...others.filter((o) => o.workflowId === id));
      }
      if (live.length) throw new KeyClaimedError(live);
    }
  });
}

/** Gives back every claim of a workflow (its rollout or revert ended); returns how many. */
export async function releaseClaims(pool: Pool, workflowId: string): Promise<number> {
  return (await pool.query('DELETE FROM release_key_claims WHERE workflow_id = $1', [workflowId])).rowCount ?? 0;
}

export async function listClaims(pool: Pool, release?: string): Promise<KeyClaim[]> {
  const { rows } = await pool.query(
    'SELECT * FROM release_key_claims WHERE $1::text IS NULL OR release = $1 ORDER BY release, environment DESC, key',
    [release ?? null],
  );
  return rows.map(toClaim);
}

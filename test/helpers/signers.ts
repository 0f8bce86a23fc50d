import type { KeyObject } from 'node:crypto';
import type { Pool } from 'pg';
import type { WorkflowHandle } from '@temporalio/client';
import { addApprover, findApprover, removeApprover, type Approver } from '../../src/db/approvers';
import { approveUpdate, goUpdate, statusQuery } from '../../src/workflows/messages';
import { generateSigningKeys, loadPrivateKey, signPayload } from '../../src/rollout/keys';
import { nameKey } from '../../src/rollout/names';
import type { SignedKind } from '../../src/rollout/signoff';

/**
 * A test team with real Ed25519 keys: one holder per plan role, rostered in the test database (or
 * in memory for the time-skipping fakes), and signing helpers that make the same signatures as
 * `neuro rollout ... --key`.
 */

export interface Signer {
  name: string;
  roles: string[];
  publicKeyPem: string;
  privateKeyPem: string;
  key: KeyObject;
}

export function makeSigner(name: string, roles: string[]): Signer {
  const k = generateSigningKeys();
  return { name, roles, ...k, key: loadPrivateKey(k.privateKeyPem) };
}

/** pat, lee, sam, ops-oncall and mia hold the plan's five roles. */
export const TEAM: Record<string, Signer> = Object.fromEntries(
  (
    [
      ['pat', ['product-owner']],
      ['lee', ['devops-lead']],
      ['sam', ['security']],
      ['ops-oncall', ['on-call']],
      ['mia', ['ml-lead']],
    ] as const
  ).map(([name, roles]) => [name, makeSigner(name, [...roles])]),
);

export const holderOf = (role: string): Signer => {
  const s = Object.values(TEAM).find((x) => x.roles.includes(role));
  if (!s) throw new Error(`no test signer holds ${role}`);
  return s;
};

/** Rosters the signers (an entry of the same name from an earlier process is replaced: keys are per process). */
export async function rosterTeam(pool: Pool, signers: Signer[] = Object.values(TEAM)): Promise<void> {
  for (const s of signers) {
    if (await findApprover(pool, s.name)) await removeApprover(pool, { name: s.name, actor: 'test' });
    await addApprover(pool, { name: s.name, roles: s.roles, publicKey: s.publicKeyPem, actor: 'test' });
  }
}

/** Every missing sign-off (signed by the role's holder), then GO signed by lee (devops-lead). */
export async function signOffAndGo(h: WorkflowHandle, go: { reason: string; acceptInconclusive?: boolean }): Promise<void> {
  for (const role of (await h.query(statusQuery)).approvals.missing) {
    await h.executeUpdate(approveUpdate, { args: [sign(h.workflowId, 'approve', { role, by: holderOf(role).name }, holderOf(role))] });
  }
  await h.executeUpdate(goUpdate, { args: [sign(h.workflowId, 'go', { by: 'lee', ...go }, TEAM.lee)] });
}

/** A rollback signed by the on-call engineer. */
export const signedRollback = (workflowId: string, reason: string) => sign(workflowId, 'rollback', { by: 'ops-oncall', reason }, TEAM['ops-oncall']);

/** Signs a payload for one rollout execution (workflow id `rollout-<release>`). */
export function sign<P extends object>(workflowId: string, kind: SignedKind, payload: P, signer: Signer | KeyObject): P & { signature: string } {
  const release = workflowId.replace(/^rollout-/, '');
  return signPayload({ kind, release, workflowId }, payload, 'key' in signer ? signer.key : signer);
}

/** An in-memory roster for the time-skipping fakes (same lookup rules as PostgreSQL's). */
export function memoryRoster(signers: Signer[] = Object.values(TEAM)) {
  const rows: Approver[] = signers.map((s, i) => ({
    id: i + 1, name: s.name, nameKey: nameKey(s.name), roles: s.roles, publicKey: s.publicKeyPem,
    addedAt: new Date(0).toISOString(), addedBy: 'test', removedAt: null, removedBy: null,
  }));
  return {
    active: async (name: string) => rows.find((r) => r.nameKey === nameKey(name)),
    removed: async () => undefined,
  };
}

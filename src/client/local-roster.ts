import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { findApprover, removeApprover } from '../db/approvers';
import { loadPrivateKey, publicKeyPemOf } from '../rollout/keys';
import { PLAN_ROLES } from '../rollout/plans';
import { addWithNewKey } from './commands/approvers';
import { STATE_DIR } from './services';

/**
 * The local roster of `npm run demo` and `neuro dev` on the embedded database: one approver per
 * plan role (demo-product-owner, ...), each with a private key in .neuro/keys/, so the README's
 * commands sign their sign-offs with nothing set up. Reused across runs; an entry whose key file
 * is gone (state folder cleared) is replaced.
 */

export const LOCAL_KEYS_DIR = join(STATE_DIR, 'keys');
const ACTOR = 'neuro-local-roster';

export interface LocalApprover {
  name: string;
  role: string;
  keyFile: string;
}

export const localApproverName = (role: string) => `demo-${role}`;

function keyMatches(keyFile: string, publicKey: string): boolean {
  try {
    return publicKeyPemOf(loadPrivateKey(readFileSync(keyFile, 'utf8'))) === publicKey;
  } catch {
    return false;
  }
}

export async function ensureLocalRoster(pool: Pool, roles: readonly string[] = PLAN_ROLES): Promise<{ approvers: LocalApprover[]; added: string[] }> {
  mkdirSync(LOCAL_KEYS_DIR, { recursive: true, mode: 0o700 });
  const approvers: LocalApprover[] = [];
  const added: string[] = [];
  for (const role of roles) {
    const name = localApproverName(role);
    const keyFile = join(LOCAL_KEYS_DIR, `${name}.pem`);
    const current = await findApprover(pool, name);
    if (!current || !current.roles.includes(role) || !existsSync(keyFile) || !keyMatches(keyFile, current.publicKey)) {
      if (current) await removeApprover(pool, { name, actor: ACTOR });
      rmSync(keyFile, { force: true }); // a key the roster no longer knows signs nothing
      await addWithNewKey(pool, { name, roles: [role], keyOut: keyFile, actor: ACTOR });
      added.push(name);
    }
    approvers.push({ name, role, keyFile });
  }
  return { approvers, added };
}

import { chmodSync, closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import type { Pool } from 'pg';
import { addApprover, API_SIGNER, ensureApiSigner, findApprover, listApprovers, removeApprover, RosterError, validName, validRoles } from '../../db/approvers';
import { adminSigningKey, generateSigningKeys, keyFingerprint, publicKeyPemOf } from '../../rollout/keys';
import { nameKey } from '../../rollout/names';
import { withDatabase } from '../services';

/**
 * `neuro approvers add|list|remove`: the roster of who may sign which sign-off. Changing it needs
 * the admin token (ADMIN_TOKEN or --admin-token). The roster keeps no token, only the public key
 * the token derives (the "api" entry, which is also how the API signs its rollbacks): the first
 * change with a token sets it up, later changes must bring the same token.
 */

type Out = (line: string) => void;
const stdout: Out = (line) => process.stdout.write(`${line}\n`);


/** Refuses a roster change without the admin token, or with another token than the roster's. */
export async function authorizeRosterChange(pool: Pool, token: string | undefined): Promise<void> {
  if (!token) throw new RosterError('changing the approvers roster needs the admin token: set ADMIN_TOKEN or pass --admin-token');
  const publicKey = publicKeyPemOf(adminSigningKey(token));
  const api = await findApprover(pool, API_SIGNER);
  if (!api) await ensureApiSigner(pool, publicKey, 'admin-token');
  else if (api.publicKey !== publicKey) throw new RosterError('the admin token is not the one this roster was set up with (the API\'s ADMIN_TOKEN); nothing changed');
}

/** Writes a new file with mode 600; refuses an existing one (a private key is never overwritten). */
export function writePrivateKeyFile(file: string, pem: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new RosterError(`--key-out: ${file} already exists; not overwriting a key file (choose another path)`);
    throw new RosterError(`--key-out: cannot create ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeSync(fd, pem);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
}

export interface AddOptions {
  name: string;
  role: string[];
  keyOut: string;
  adminToken?: string;
  by?: string;
}

/** Adds an approver with a new key pair; used by the CLI and (without the token check) the demo's roster. */
export async function addWithNewKey(pool: Pool, o: { name: string; roles: string[]; keyOut: string; actor: string }) {
  const name = validName(o.name);
  const roles = validRoles(o.roles);
  if (nameKey(name) === nameKey(API_SIGNER)) throw new RosterError(`--name: "${name}" is reserved for the API's own key`);
  if (existsSync(o.keyOut)) throw new RosterError(`--key-out: ${o.keyOut} already exists; not overwriting a key file (choose another path)`);
  const keys = generateSigningKeys();
  writePrivateKeyFile(o.keyOut, keys.privateKeyPem);
  try {
    return await addApprover(pool, { name, roles, publicKey: keys.publicKeyPem, actor: o.actor });
  } catch (err) {
    rmSync(o.keyOut, { force: true }); // nothing half-written: no key file for an approver not added
    throw err;
  }
}

const actor = (by: string | undefined) => by || process.env.USER || 'cli';

export async function approversAdd(o: AddOptions, out: Out = stdout): Promise<void> {
  const token = o.adminToken ?? process.env.ADMIN_TOKEN;
  await withDatabase(async (pool) => {
    await authorizeRosterChange(pool, token);
    const a = await addWithNewKey(pool, { name: o.name, roles: o.role, keyOut: o.keyOut, actor: actor(o.by) });
    out(`added ${a.name} (${a.roles.join(', ')}), key ${keyFingerprint(a.publicKey)}; private key written to ${o.keyOut} (mode 600)`);
    out(`sign with: neuro rollout approve RELEASE --role ${a.roles[0]} --by '${a.name}' --key ${o.keyOut}`);
  });
}

export async function approversRemove(o: { name: string; adminToken?: string; by?: string }, out: Out = stdout): Promise<void> {
  const token = o.adminToken ?? process.env.ADMIN_TOKEN;
  await withDatabase(async (pool) => {
    await authorizeRosterChange(pool, token);
    if (nameKey(o.name) === nameKey(API_SIGNER)) throw new RosterError(`"${API_SIGNER}" is the API's own key; change ADMIN_TOKEN to replace it`);
    const a = await removeApprover(pool, { name: o.name, actor: actor(o.by) });
    out(`removed ${a.name} (${a.roles.join(', ')}); their signatures are refused from now on`);
  });
}

export async function approversList(o: { json?: boolean; all?: boolean }, out: Out = stdout): Promise<void> {
  const rows = await withDatabase((pool) => listApprovers(pool, { includeRemoved: o.all }));
  if (o.json) {
    out(JSON.stringify(rows.map((a) => ({ ...a, fingerprint: keyFingerprint(a.publicKey) })), null, 2));
    return;
  }
  if (!rows.length) out('no approvers: add one with neuro approvers add --name NAME --role ROLE --key-out FILE');
  for (const a of rows) {
    const removed = a.removedAt ? `  REMOVED ${a.removedAt} by ${a.removedBy}` : '';
    out(`${a.name.padEnd(24)} ${a.roles.join(',').padEnd(30)} key ${keyFingerprint(a.publicKey)}  added ${a.addedAt} by ${a.addedBy}${removed}`);
  }
}

import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { buildApp } from '../../src/api/server';
import { findTemporalCli } from '../../src/client/temporal-server';
import { setConfig } from '../../src/db/config-store';
import { addApprover, approverAudit, findApprover, listApprovers, removeApprover } from '../../src/db/approvers';
import { generateSigningKeys, loadPrivateKey, signPayload, verifySignature } from '../../src/rollout/keys';
import type { ApprovePayload } from '../../src/rollout/types';
import { approveSignal, approveUpdate, rollbackSignal } from '../../src/workflows/messages';
import { testTemporalAddress } from '../helpers/env';
import { holderOf, makeSigner, rosterTeam, sign, signedRollback, TEAM } from '../helpers/signers';
import { recordHistory, startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, start, status, untilStatus, waitFor, rolloutsFinished } from './rollout.helpers';

/**
 * Sign-offs that prove identity, on the dev server and PostgreSQL: the roster, signatures checked
 * on the Signal and the Update path, the plan's roles needing holders, the admin API's own key,
 * the `neuro approvers` commands and a payload signed with openssl for the plain `temporal` CLI.
 */

jest.setTimeout(300_000);
const run = promisify(execFile);
const KEY = 'STREAMING_BATCH_DELAY_MS';
const TEMPORAL = findTemporalCli() ?? 'temporal';
const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');
const ADMIN_TOKEN = 'test-admin-token-signoff';
// MAPE relative to the baseline on the synthetic catalogue (see rollout.test.ts); short windows.
const p1 = (o: Parameters<typeof rehearsal>[0] = {}) =>
  rehearsal({ gates: [{ gate: 'peak-memory', comparator: '<', threshold: 62 }], cycles: 0, baselineCycles: 0, postDeployPrefetch: false, ...o });

describe('signed sign-offs (dev server, PostgreSQL)', () => {
  let stack: Stack;
  let keyDir: string;
  const keyFile = (name: string) => join(keyDir, `${name}.pem`);
  /** Rostered, holds devops-lead, and looks like the rehearsals' author dana-author (Cyrillic а). */
  const lookAlike = makeSigner('d\u0430na-author', ['devops-lead']);

  beforeAll(async () => {
    stack = await startStack({ skus: 24 });
    await setConfig(stack.db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: 0 }, 'test');
    await rosterTeam(stack.db.pool, [...Object.values(TEAM), lookAlike]);
    keyDir = mkdtempSync(join(tmpdir(), 'neuro-signoff-'));
    for (const s of Object.values(TEAM)) writeFileSync(keyFile(s.name), s.privateKeyPem, { mode: 0o600 });
  });
  afterAll(async () => {
    rmSync(keyDir, { recursive: true, force: true });
    await stack?.stop();
  });
  afterEach(async () => {
    await rolloutsFinished(stack.db.pool);
    for (const env of ['staging', 'production']) await setConfig(stack.db.pool, env, { [KEY]: null }, 'test');
  });

  it('Signal path: unsigned, forged, wrong role, removed approver, look-alike of the author and replayed signatures are refused and recorded', async () => {
    const kim = makeSigner('kim', ['security']);
    await rosterTeam(stack.db.pool, [kim]);
    await removeApprover(stack.db.pool, { name: 'kim', actor: 'test' });
    const h = await start(stack, p1({ soak: '10m' }));
    await untilStatus(h, (s) => s.stage === 'validate', 'the soak');
    // Another release at the same time, on other keys (one release at a time per key).
    const other = await start(stack, p1({ plan: 'v19.3-prefetch', soak: '10m' }));
    const forger = generateKeyPairSync('ed25519').privateKey;

    const approve = (p: ApprovePayload) => h.signal(approveSignal, p);
    await approve({ role: 'devops-lead', by: 'lee' });
    await approve(sign(h.workflowId, 'approve', { role: 'devops-lead', by: 'lee' }, forger));
    await approve(sign(h.workflowId, 'approve', { role: 'security', by: 'pat' }, TEAM.pat));
    await approve(sign(h.workflowId, 'approve', { role: 'security', by: 'kim' }, kim));
    await approve(sign(h.workflowId, 'approve', { role: 'devops-lead', by: lookAlike.name }, lookAlike));
    // lee's genuine approval of another rollout, replayed into this one.
    await approve(sign(other.workflowId, 'approve', { role: 'devops-lead', by: 'lee' }, TEAM.lee));
    // A rollback that claims to come from the API, unsigned; and one signed with a key that is not the API's.
    await h.signal(rollbackSignal, { by: 'api', reason: 'trust me' });
    await h.signal(rollbackSignal, sign(h.workflowId, 'rollback', { by: 'api', reason: 'trust me' }, forger));

    const s = await untilStatus(h, (x) => x.rejected.length >= 8, 'the refusals');
    expect(s.rejected.map((r) => `${r.message}: ${r.reason}`)).toEqual([
      expect.stringMatching(/^approve: unsigned: a "signature" is required/),
      expect.stringMatching(/^approve: bad signature: it does not verify against the key rostered for lee/),
      expect.stringMatching(/^approve: pat does not hold the role security \(roster roles: product-owner\)/),
      expect.stringMatching(/^approve: kim was removed from the approvers roster .* by test/),
      expect.stringMatching(/^approve: d\u0430na-author is the author of .* may not approve it/),
      expect.stringMatching(/^approve: bad signature/),
      expect.stringMatching(/^rollback: unsigned/),
      expect.stringMatching(/^rollback: (api is not on the approvers roster|bad signature)/),
    ]);
    expect(s.approvals.received).toEqual([]);
    expect(s.state).toBe('running');
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);

    // Signed by the rostered holder: accepted, recorded under the roster's spelling of the name.
    await approve(sign(h.workflowId, 'approve', { role: 'devops-lead', by: 'LEE' }, TEAM.lee));
    await untilStatus(h, (x) => x.approvals.received.length === 1, 'the signed approval');
    expect((await status(h)).approvals.received[0]).toMatchObject({ role: 'devops-lead', by: 'lee' });
    for (const x of [h, other]) await x.signal(rollbackSignal, signedRollback(x.workflowId, 'end of test'));
    expect((await h.result()).state).toBe('rolled-back');
    await other.result();
  });

  it('Update path: forged, unsigned and wrong-role sign-offs are refused with the reason and recorded', async () => {
    const h = await start(stack, p1({ soak: '10m' }));
    await untilStatus(h, (s) => s.stage === 'validate', 'the soak');
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      return (err as WorkflowUpdateFailedError).cause?.message ?? '';
    };
    const forged = sign(h.workflowId, 'approve', { role: 'product-owner', by: 'pat' }, TEAM.lee);
    expect(await refusal(h.executeUpdate(approveUpdate, { args: [forged] }))).toMatch(/bad signature: .* rostered for pat/);
    expect(await refusal(h.executeUpdate(approveUpdate, { args: [{ role: 'product-owner', by: 'pat' }] }))).toMatch(/^unsigned/);
    expect(await refusal(h.executeUpdate(approveUpdate, { args: [sign(h.workflowId, 'approve', { role: 'product-owner', by: 'mia' }, TEAM.mia)] }))).toMatch(/mia does not hold the role product-owner/);
    const s = await status(h);
    expect(s.rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/^bad signature/), expect.stringMatching(/^unsigned/), expect.stringMatching(/does not hold the role/)]);
    expect(s.approvals.received).toEqual([]);
    await h.executeUpdate(approveUpdate, { args: [sign(h.workflowId, 'approve', { role: 'product-owner', by: 'pat' }, TEAM.pat)] });
    expect((await status(h)).approvals.received).toEqual([expect.objectContaining({ role: 'product-owner', by: 'pat' })]);
    await h.signal(rollbackSignal, signedRollback(h.workflowId, 'end of test'));
    await h.result();
  });

  it('`temporal workflow signal` with payloads signed by openssl (the README recipe) takes a rollout to production', async () => {
    // One production cycle: monitoring measures its gate, so the rollout completes without a hold for confirm.
    const input = p1({ soak: '1s', monitorCycles: 1 });
    const h = await start(stack, input);
    await untilStatus(h, (s) => s.stage === 'approval', 'the approval stage');
    // The README's shell recipe, word for word apart from the variables.
    const recipe = `
      MSG=$(jq -cnS --arg kind "$KIND" --arg rel "$REL" --arg wf "$WF" --argjson p "$PAYLOAD" \\
        '{domain:"neuro-signoff/1",kind:$kind,payload:$p,release:$rel,workflowId:$wf}')
      printf %s "$MSG" > msg.txt
      SIG=$(openssl pkeyutl -sign -inkey "$KEY" -rawin -in msg.txt | base64 -w0)
      "$TEMPORAL" workflow signal --address "$ADDRESS" --workflow-id "$WF" --name "$KIND" \\
        --input "$(jq -c --arg sig "$SIG" '. + {signature: $sig}' <<<"$PAYLOAD")"`;
    const signal = (kind: string, payload: object, signer: string) =>
      run('bash', ['-euo', 'pipefail', '-c', recipe], {
        cwd: keyDir,
        env: { ...process.env, KIND: kind, REL: input.release, WF: h.workflowId, PAYLOAD: JSON.stringify(payload), KEY: keyFile(signer), TEMPORAL, ADDRESS: testTemporalAddress() },
      });
    for (const role of input.signOffs) await signal('approve', { role, by: holderOf(role).name, comment: `ok from ${role} — ünïcode` }, holderOf(role).name);
    await signal('go', { by: 'lee', reason: 'staging gates pass', acceptInconclusive: true }, 'lee');
    const done = await h.result();
    expect(done.rejected).toEqual([]);
    expect(done).toMatchObject({ state: 'completed', decision: { kind: 'go', by: 'lee' } });
    expect(done.approvals.received.map((a) => a.by).sort()).toEqual(input.signOffs.map((r) => holderOf(r).name).sort());
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    await recordHistory('rollout-signed-signoffs', h);
  });

  it('a rollout refuses to start while the roster has no active holder of one of its roles, naming the role', async () => {
    const input = p1({ signOffs: ['product-owner', 'release-manager', 'devops-lead'] });
    const h = await start(stack, input);
    const err = await h.result().then(() => undefined, (e: Error & { cause?: Error }) => e);
    expect(String(err?.cause?.message)).toMatch(/no active approver holds the sign-off role release-manager; add one with neuro approvers add/);
    expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
  });

  it('the admin token rolls back through the API, which signs with its own key; a bad token is refused', async () => {
    const api = await buildApp({ pool: stack.db.pool, cache: stack.cache, temporalClient: stack.temporal.client, taskQueue: stack.temporal.taskQueue, adminToken: ADMIN_TOKEN, log: () => undefined });
    try {
      const input = p1({ soak: '10m' });
      const h = await start(stack, input);
      await waitFor(async () => (await override(stack.db.pool, 'staging', KEY)) === 300, 'staging applied');
      const post = (token: string | undefined, body: unknown) =>
        api.app.inject({ method: 'POST', url: `/api/v1/admin/rollouts/${input.release}/rollback`, headers: token ? { authorization: `Bearer ${token}` } : {}, payload: body as object });
      expect((await post(undefined, { reason: 'x' })).statusCode).toBe(401);
      expect((await post('wrong', { reason: 'x' })).statusCode).toBe(401);
      expect((await post(ADMIN_TOKEN, {})).json().error).toMatch(/bad rollback body: reason/);
      const res = await post(ADMIN_TOKEN, { reason: 'p99 up', by: 'on-call pager' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ rolledBack: true, answer: expect.stringMatching(/restored staging in \d+ ms/) });
      expect(await override(stack.db.pool, 'staging', KEY)).toBeNull();
      const done = await h.result();
      expect(done.rollback).toMatchObject({ by: 'api', reason: 'p99 up (admin token, requested by on-call pager)', restored: ['staging'] });
      expect((await post(ADMIN_TOKEN, { reason: 'again' })).statusCode).toBe(404);
      expect(await findApprover(stack.db.pool, 'api')).toMatchObject({ roles: ['admin'] });
    } finally {
      await api.close();
    }
  });

  it('neuro approvers add|list|remove: the admin token is required, the key file is mode 600 and never overwritten, look-alikes refused', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: stack.db.url, NEURO_IGNORE_DEV_STATE: '1' };
    delete env.ADMIN_TOKEN;
    const neuro = (...args: string[]) => run(process.execPath, [NEURO, ...args], { env });
    const file = join(keyDir, 'rosa.pem');
    const rosterNames = async () => (await listApprovers(stack.db.pool)).map((a) => a.name);
    const before = await rosterNames();

    await expect(neuro('approvers', 'add', '--name', 'rosa', '--role', 'security', '--key-out', file)).rejects.toMatchObject({
      stderr: expect.stringMatching(/changing the approvers roster needs the admin token: set ADMIN_TOKEN or pass --admin-token/),
    });
    expect(existsSync(file)).toBe(false);
    expect(await rosterNames()).toEqual(before);

    const added = await neuro('approvers', 'add', '--name', 'rosa', '--role', 'security', '--role', 'on-call', '--key-out', file, '--admin-token', ADMIN_TOKEN, '--by', 'admin-ann');
    expect(added.stdout).toMatch(/added rosa \(security, on-call\), key [0-9a-f]{16}; private key written to .*rosa\.pem \(mode 600\)/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The file's key is the one the roster verifies.
    const rosa = (await findApprover(stack.db.pool, 'rosa'))!;
    const ctx = { kind: 'approve' as const, release: 'r', workflowId: 'rollout-r' };
    expect(verifySignature(ctx, signPayload(ctx, { role: 'security', by: 'rosa' }, loadPrivateKey(readFileSync(file, 'utf8'))), rosa.publicKey)).toBe(true);

    const keyBefore = readFileSync(file, 'utf8');
    await expect(neuro('approvers', 'add', '--name', 'rosa2', '--role', 'security', '--key-out', file, '--admin-token', ADMIN_TOKEN)).rejects.toMatchObject({
      stderr: expect.stringMatching(/already exists; not overwriting a key file/),
    });
    expect(readFileSync(file, 'utf8')).toBe(keyBefore);
    await expect(neuro('approvers', 'add', '--name', 'r\u043esa', '--role', 'security', '--key-out', join(keyDir, 'x.pem'), '--admin-token', ADMIN_TOKEN)).rejects.toMatchObject({
      stderr: expect.stringMatching(/"r\u043esa" looks like "rosa", who is already on the roster/),
    });
    expect(existsSync(join(keyDir, 'x.pem'))).toBe(false);
    await expect(neuro('approvers', 'remove', '--name', 'rosa', '--admin-token', 'not-the-token')).rejects.toMatchObject({
      stderr: expect.stringMatching(/the admin token is not the one this roster was set up with/),
    });
    await expect(neuro('approvers', 'add', '--name', 'bo', '--role', 'Security!', '--key-out', join(keyDir, 'bo.pem'), '--admin-token', ADMIN_TOKEN)).rejects.toMatchObject({
      stderr: expect.stringMatching(/--role: "Security!" is not a role/),
    });

    const listed = JSON.parse((await neuro('approvers', 'list', '--json')).stdout) as { name: string; roles: string[]; fingerprint: string }[];
    expect(listed.find((a) => a.name === 'rosa')).toMatchObject({ roles: ['security', 'on-call'], fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect((await neuro('approvers', 'list')).stdout).toMatch(/^rosa +security,on-call +key [0-9a-f]{16} {2}added .* by admin-ann$/m);

    await expect(neuro('approvers', 'remove', '--name', 'rosa')).rejects.toMatchObject({ stderr: expect.stringMatching(/needs the admin token/) });
    expect((await neuro('approvers', 'remove', '--name', 'ROSA', '--admin-token', ADMIN_TOKEN, '--by', 'admin-ann')).stdout).toMatch(/removed rosa/);
    expect(await rosterNames()).not.toContain('rosa');
    expect((await neuro('approvers', 'list', '--all')).stdout).toMatch(/^rosa\s.* REMOVED .* by admin-ann$/m);
    const audit = (await approverAudit(stack.db.pool)).filter((a) => a.name === 'rosa');
    expect(audit.map((a) => `${a.action} by ${a.actor}`)).toEqual(['remove by admin-ann', 'add by admin-ann']);
  });

  it('roster data: one active entry per folded name, removal keeps the row', async () => {
    const k = generateSigningKeys();
    await addApprover(stack.db.pool, { name: 'Zoë Q', roles: ['security'], publicKey: k.publicKeyPem, actor: 'test' });
    await expect(addApprover(stack.db.pool, { name: 'zoe  q', roles: ['security'], publicKey: k.publicKeyPem, actor: 'test' })).rejects.toThrow(/looks like "Zoë Q"/);
    await removeApprover(stack.db.pool, { name: 'ZOE Q', actor: 'test' });
    await addApprover(stack.db.pool, { name: 'zoe q', roles: ['on-call'], publicKey: k.publicKeyPem, actor: 'test' });
    const rows = (await listApprovers(stack.db.pool, { includeRemoved: true })).filter((a) => a.nameKey === 'zoe q');
    expect(rows.map((a) => [a.name, a.removedAt === null])).toEqual([['Zoë Q', false], ['zoe q', true]]);
  });
});

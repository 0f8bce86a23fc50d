import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeyFile } from '../../src/client/commands/rollout';
import { verifyAgainstRoster } from '../../src/activities/rollout';
import * as rules from '../../src/rollout/decisions';
import { adminSigningKey, publicKeyPemOf, signPayload, verifySignature } from '../../src/rollout/keys';
import { nameKey, normalizeName, sameName } from '../../src/rollout/names';
import { canonicalJson, signoffMessage } from '../../src/rollout/signoff';
import type { RolloutInput } from '../../src/rollout/types';
import { makeSigner, memoryRoster } from '../helpers/signers';

const ctx = { kind: 'approve' as const, release: 'v19.3-batch-delay', workflowId: 'rollout-v19.3-batch-delay' };

describe('canonical signed message', () => {
  test('sorted keys at every level, no whitespace, the signature left out', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 'x' }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[2,{"y":"x","z":1}]},"b":1}');
    expect(signoffMessage(ctx, { role: 'devops-lead', by: 'lee', signature: 'AAAA', comment: 'ok' })).toBe(
      '{"domain":"neuro-signoff/1","kind":"approve","payload":{"by":"lee","comment":"ok","role":"devops-lead"},"release":"v19.3-batch-delay","workflowId":"rollout-v19.3-batch-delay"}',
    );
  });

  test('the same payload in another key order is the same message', () => {
    expect(signoffMessage(ctx, { by: 'lee', role: 'devops-lead' })).toBe(signoffMessage(ctx, { role: 'devops-lead', by: 'lee' }));
  });
});

describe('Ed25519 signatures over the message', () => {
  const lee = makeSigner('lee', ['devops-lead']);
  const payload = { role: 'devops-lead', by: 'lee' };

  test('verifies for the signer\'s key, and for nothing changed', () => {
    const signed = signPayload(ctx, payload, lee.key);
    expect(signed.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(verifySignature(ctx, signed, lee.publicKeyPem)).toBe(true);
  });

  test('fails for another key, another payload, kind, release or workflow id, and for junk', () => {
    const signed = signPayload(ctx, payload, lee.key);
    expect(verifySignature(ctx, signed, makeSigner('x', ['y']).publicKeyPem)).toBe(false);
    expect(verifySignature(ctx, { ...signed, role: 'product-owner' }, lee.publicKeyPem)).toBe(false);
    expect(verifySignature({ ...ctx, kind: 'go' }, signed, lee.publicKeyPem)).toBe(false);
    expect(verifySignature({ ...ctx, release: 'v2' }, signed, lee.publicKeyPem)).toBe(false);
    expect(verifySignature({ ...ctx, workflowId: 'rollout-v2' }, signed, lee.publicKeyPem)).toBe(false);
    expect(verifySignature(ctx, { ...payload, signature: 'not base64!' }, lee.publicKeyPem)).toBe(false);
    expect(verifySignature(ctx, { ...payload, signature: 'AAAA' }, lee.publicKeyPem)).toBe(false);
    expect(verifySignature(ctx, payload, lee.publicKeyPem)).toBe(false);
  });

  test('the API key is derived from the admin token: the same token, the same key', () => {
    expect(publicKeyPemOf(adminSigningKey('s3cret'))).toBe(publicKeyPemOf(adminSigningKey('s3cret')));
    expect(publicKeyPemOf(adminSigningKey('s3cret'))).not.toBe(publicKeyPemOf(adminSigningKey('other')));
  });

  test('verdicts against a roster: signer as rostered, unknown, forged', async () => {
    const roster = memoryRoster([lee]);
    const signed = signPayload(ctx, { role: 'devops-lead', by: 'LEE' }, lee.key);
    expect(await verifyAgainstRoster(roster, { ...ctx, payload: signed })).toEqual({ ok: true, name: 'lee', roles: ['devops-lead'] });
    expect(await verifyAgainstRoster(roster, { ...ctx, payload: signPayload(ctx, { role: 'x', by: 'kim' }, lee.key) })).toEqual({ ok: false, reason: 'kim is not on the approvers roster' });
    const forger = generateKeyPairSync('ed25519').privateKey;
    expect(await verifyAgainstRoster(roster, { ...ctx, payload: signPayload(ctx, payload, forger) })).toMatchObject({ ok: false, reason: expect.stringMatching(/^bad signature/) });
  });
});

describe('name folding', () => {
  test('look-alikes collide: Cyrillic and Greek letters, full-width, invisible characters, accents, I/l, rn/m', () => {
    expect(sameName('dana-author', 'd\u0430na-author')).toBe(true); // Cyrillic а
    expect(sameName('Dana-Author', 'DANA-AUTHOR')).toBe(true);
    expect(sameName('pat', '\u0440\u0430t')).toBe(true); // Cyrillic р, а
    expect(sameName('kim', '\u03baim')).toBe(true); // Greek κ
    expect(sameName('lee', 'ｌｅｅ')).toBe(true); // full-width
    expect(sameName('lee', 'l\u200bee')).toBe(true); // zero-width space
    expect(sameName('jose', 'jos\u00e9')).toBe(true);
    expect(sameName('Alice', 'AIice')).toBe(true); // capital I for l
    expect(sameName('mia', 'rnia')).toBe(true);
    expect(sameName('ops_oncall', 'ops-oncall')).toBe(true);
  });

  test('different names do not', () => {
    expect(sameName('lee', 'leo')).toBe(false);
    expect(sameName('pat', 'pam')).toBe(false);
    expect(sameName('dana-author', 'dana-authors')).toBe(false);
    expect(sameName('ann', 'anna')).toBe(false);
  });

  test('the stored form is NFKC with invisible characters dropped and spaces collapsed', () => {
    expect(normalizeName('  Ｌｅｅ\u00ad  Park ')).toBe('Lee Park');
    expect(nameKey('Lee Park')).toBe('lee park');
  });
});

describe('signer rules', () => {
  const run = (): rules.RolloutRun => ({
    st: rules.initialStatus({ release: 'v1', author: 'dana-author', description: 'd', changes: {}, signOffs: ['product-owner', 'devops-lead'] } as unknown as RolloutInput, 'rollout-v1'),
    goDecided: false,
    signed: true,
  });
  const ok = (name: string, roles: string[]) => ({ ok: true as const, name, roles });

  test('unsigned is refused before any look-up', () => {
    expect(rules.refuseUnsigned({ role: 'devops-lead', by: 'lee' })).toMatch(/^unsigned/);
    expect(rules.refuseUnsigned({ role: 'devops-lead', by: 'lee', signature: 'x' })).toBeUndefined();
  });

  test('approve needs the role signed for; a look-alike of the author is the author', () => {
    const r = run();
    expect(rules.refuseSigner(r, 'approve', { role: 'devops-lead', by: 'pat' }, ok('pat', ['product-owner']))).toMatch(/pat does not hold the role devops-lead/);
    expect(rules.refuseSigner(r, 'approve', { role: 'devops-lead', by: 'lee' }, ok('lee', ['devops-lead']))).toBeUndefined();
    expect(rules.refuseSigner(r, 'approve', { role: 'devops-lead', by: 'd\u0430na-author' }, ok('d\u0430na-author', ['devops-lead']))).toMatch(/is the author of v1/);
    expect(rules.refuseApprove(r, { role: 'devops-lead', by: 'D\u0430na-Author' })).toMatch(/is the author of v1/);
  });

  test('GO and NO-GO need a holder of one of the rollout\'s roles; GO not the author; rollback any rostered signer', () => {
    const r = run();
    expect(rules.refuseSigner(r, 'go', { by: 'mia' }, ok('mia', ['ml-lead']))).toMatch(/holds none of this rollout's sign-off roles/);
    expect(rules.refuseSigner(r, 'noGo', { by: 'mia' }, ok('mia', ['ml-lead']))).toMatch(/holds none/);
    expect(rules.refuseSigner(r, 'go', { by: 'dana-author' }, ok('dana-author', ['devops-lead']))).toMatch(/may not give GO/);
    expect(rules.refuseSigner(r, 'go', { by: 'lee' }, ok('lee', ['devops-lead']))).toBeUndefined();
    expect(rules.refuseSigner(r, 'rollback', { by: 'api' }, ok('api', ['admin']))).toBeUndefined();
    expect(rules.refuseSigner(r, 'rollback', { by: 'x' }, { ok: false, reason: 'x is not on the approvers roster' })).toBe('x is not on the approvers roster');
    expect(rules.signedBy({ by: 'LEE', reason: 'r' }, ok('lee', ['devops-lead']))).toEqual({ by: 'lee', reason: 'r' });
  });
});

describe('key files', () => {
  test('a missing or non-Ed25519 key file is refused, naming the file and what is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neuro-keyfile-'));
    try {
      expect(() => readKeyFile(`${dir}/none.pem`)).toThrow(/--key: cannot read .*none\.pem: ENOENT/);
      writeFileSync(`${dir}/rsa.pem`, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      expect(() => readKeyFile(`${dir}/rsa.pem`)).toThrow(/an rsa key; sign-offs need an Ed25519 key/);
      writeFileSync(`${dir}/junk.pem`, 'hello');
      expect(() => readKeyFile(`${dir}/junk.pem`)).toThrow(/not a PEM private key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, sign, verify, type KeyObject } from 'node:crypto';
import { signoffMessage, type SignoffContext } from './signoff';

/**
 * Ed25519 keys and signatures over the canonical sign-off message (src/rollout/signoff.ts), with
 * node:crypto. Private keys are PKCS#8 PEM files; the roster stores SPKI PEM public keys.
 */

export interface KeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

export function generateSigningKeys(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A private key from PEM, refused clearly when it is not an Ed25519 private key. */
export function loadPrivateKey(pem: string, what = 'key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${what}: not a PEM private key (${(err as Error).message})`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what}: an ${key.asymmetricKeyType} key; sign-offs need an Ed25519 key (neuro approvers add --key-out makes one)`);
  return key;
}

export function publicKeyPemOf(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

/** Normalised SPKI PEM of a public key; throws on anything that is not an Ed25519 public key. */
export function canonicalPublicKeyPem(pem: string): string {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`public key is ${key.asymmetricKeyType}, not Ed25519`);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** Short fingerprint for listings: sha256 of the SPKI DER, first 16 hex digits. */
export function keyFingerprint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** The payload with its "signature" (base64 Ed25519 over the canonical message). */
export function signPayload<P extends object>(ctx: SignoffContext, payload: P, privateKey: KeyObject): P & { signature: string } {
  const message = Buffer.from(signoffMessage(ctx, payload as Record<string, unknown>), 'utf8');
  return { ...payload, signature: sign(null, message, privateKey).toString('base64') };
}

export function verifySignature(ctx: SignoffContext, payload: Record<string, unknown>, publicKeyPem: string): boolean {
  const sig = payload.signature;
  if (typeof sig !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(sig)) return false;
  const bytes = Buffer.from(sig, 'base64');
  if (bytes.length !== 64) return false;
  return verify(null, Buffer.from(signoffMessage(ctx, payload), 'utf8'), publicKeyPem, bytes);
}

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The API's own signing key, derived from ADMIN_TOKEN (HKDF-SHA256): whoever holds the token can
 * make it, nobody else can, and nothing secret is stored. Its public key is rostered as "api", so
 * a rollback the API signs is verified like anybody's.
 */
export function adminSigningKey(adminToken: string): KeyObject {
  const seed = Buffer.from(hkdfSync('sha256', adminToken, 'neuro-forecast', 'neuro-api-signing-key/1', 32));
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/**
 * What a sign-off signature covers, as pure functions (no crypto here: the CLI, the API and the
 * verifying activity sign and verify these bytes with Ed25519, src/rollout/keys.ts).
 *
 * The signed message is the UTF-8 of one line of canonical JSON:
 *   {"domain":"neuro-signoff/1","kind":KIND,"payload":PAYLOAD,"release":RELEASE,"workflowId":ID}
 * - KIND is the message's public name: approve, go, noGo, confirm, promote, rollback (a new
 *   kind is just a new name in SIGNED_KINDS);
 * - PAYLOAD is the message's payload without its "signature" field;
 * - canonical JSON = object keys sorted by code unit at every level, no whitespace, strings and
 *   numbers as JSON.stringify writes them (for ordinary text, what `jq -cS` prints).
 * Binding the release and the workflow id means a signature for one rollout (or one attempt of a
 * release tag) cannot be replayed into another; binding the kind means an approval cannot be
 * replayed as a GO.
 */

export const SIGNOFF_DOMAIN = 'neuro-signoff/1';
export const SIGNED_KINDS = ['approve', 'go', 'noGo', 'confirm', 'promote', 'rollback'] as const;
export type SignedKind = (typeof SIGNED_KINDS)[number];

/** JSON with sorted keys and no whitespace; undefined members are dropped (as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    if (s === undefined) throw new Error(`canonicalJson: ${typeof value} is not JSON`);
    return s;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface SignoffContext {
  kind: SignedKind;
  release: string;
  workflowId: string;
}

/** The payload as signed: every field but "signature". */
export function unsignedPayload(payload: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...payload };
  delete rest.signature;
  return rest;
}

/** The exact text a signature is made over (sign its UTF-8 bytes). */
export function signoffMessage(ctx: SignoffContext, payload: Record<string, unknown>): string {
  return canonicalJson({ domain: SIGNOFF_DOMAIN, kind: ctx.kind, payload: unsignedPayload(payload), release: ctx.release, workflowId: ctx.workflowId });
}

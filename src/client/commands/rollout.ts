import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { planToInput, formatDuration, type PlanOverrides } from '../../rollout/input';
import { loadPrivateKey, signPayload } from '../../rollout/keys';
import type { SignedKind } from '../../rollout/signoff';
import type { GateResult, RolloutStatus } from '../../rollout/types';
import { rolloutWorkflowId } from '../../workflows/ids';
import { approveUpdate, goUpdate, noGoUpdate, rollbackUpdate, statusQuery } from '../../workflows/messages';
import { connectTemporal, resolveInfra } from '../services';
import { startRollout } from '../starters';

/** `neuro rollout start|status|approve|go|no-go|rollback`: a thin client of the `rollout` workflow. */


type Out = (line: string) => void;
const stdout: Out = (line) => process.stdout.write(`${line}\n`);

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { client, close } = await connectTemporal();
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

/** The CLI's options: a plan name plus the overrides `planToInput` validates. */
export type StartOptions = PlanOverrides & { plan: string };

export async function rolloutStart(o: StartOptions, out: Out = stdout): Promise<void> {
  // Everything is validated here first (plan, overrides, every config value): a typo starts nothing.
  const input = planToInput(o.plan, o);
  const { taskQueue } = resolveInfra();
  const workflowId = await withClient((client) => startRollout(client, input, taskQueue));
  out(`Started rollout ${input.release} (workflow ${workflowId}) by ${input.author}`);
  out(`  changes: ${Object.entries(input.changes).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out(
    `  staging: ${input.validation.cycles} forecast cycles over a ${formatDuration(input.validation.soakMs)} soak; ` +
      `gates: ${input.gates.map((g) => `${g.gate} ${g.comparator} ${g.threshold}`).join(', ')}`,
  );
  out(`  sign-offs: ${input.signOffs.join(', ')}; approval timeout ${formatDuration(input.approvalTimeoutMs)}; monitor ${formatDuration(input.monitor.windowMs)}`);
  out(`Follow it with: neuro rollout status ${input.release}`);
}

async function queryStatus(client: Client, release: string): Promise<RolloutStatus> {
  return client.workflow.getHandle(rolloutWorkflowId(release)).query(statusQuery);
}

const gateLine = (g: GateResult) =>
  `    ${g.status.toUpperCase().padEnd(12)} ${g.gate.padEnd(22)} ${g.measured === null ? 'n/a' : +g.measured.toFixed(2)} ${g.unit} (${g.comparator} ${+g.threshold.toFixed(2)}) — ${g.detail}`;

export function formatStatus(s: RolloutStatus): string[] {
  const lines = [`${s.release}: stage ${s.stage}, state ${s.state}${s.plan ? ` (plan ${s.plan})` : ''}, author ${s.author}`];
  lines.push(`  changes: ${Object.entries(s.changes.requested).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  for (const [env, c] of Object.entries(s.changes.environments)) {
    if (!c) continue;
    const keys = Object.keys(c.after);
    lines.push(
      `  ${env}: ${keys.map((k) => `${k} ${c.before[k]} -> ${c.after[k]}`).join(', ')} (applied ${c.appliedAt}${c.restoredAt ? `, restored ${c.restoredAt}` : ''})`,
    );
  }
  for (const [env, gates] of Object.entries(s.gates)) {
    if (!gates) continue;
    lines.push(`  gates (${env}):`, ...gates.map(gateLine));
  }
  const got = s.approvals.received.map((a) => `${a.role} (${a.by})`).join(', ') || 'none';
  lines.push(`  sign-offs: ${got}${s.approvals.missing.length ? `; missing: ${s.approvals.missing.join(', ')}` : ''}`);
  if (s.decision) lines.push(`  decision: ${s.decision.kind.toUpperCase()} by ${s.decision.by} — ${s.decision.reason}`);
  if (s.rollback) {
    lines.push(
      `  rollback: ${s.rollback.automatic ? 'automatic' : `by ${s.rollback.by}`} — ${s.rollback.reason}; restored ${s.rollback.restored.join(', ') || 'nothing'}${s.rollback.durationMs !== undefined ? ` in ${s.rollback.durationMs} ms` : ''}`,
    );
  }
  const d = s.deadlines;
  if (s.state === 'awaiting-approval' && d.approvalDeadline) lines.push(`  approval deadline: ${d.approvalDeadline} (then NO-GO)`);
  if (s.stage === 'soak' || s.stage === 'validate') lines.push(`  soak ends: ${d.soakEndsAt}`);
  if (s.stage === 'monitor') lines.push(`  monitoring ends: ${d.monitorEndsAt}`);
  for (const r of s.rejected.slice(-3)) lines.push(`  refused ${r.message}: ${r.reason}`);
  lines.push('  recent:', ...s.timeline.slice(-5).map((t) => `    ${t.at} ${t.event}${t.detail ? ` — ${t.detail}` : ''}`));
  return lines;
}

export async function rolloutStatus(release: string, o: { json?: boolean }, out: Out = stdout): Promise<void> {
  const s = await withClient((client) => queryStatus(client, release));
  if (o.json) out(JSON.stringify(s, null, 2));
  else formatStatus(s).forEach((l) => out(l));
}

/** Runs an Update and turns a validator's refusal into an error carrying its reason. */
/**
 * Signs the payload with the key file for this rollout's current execution (the workflow id and
 * the release are in the signed message), then runs the Update.
 */
async function send<A extends object>(release: string, def: UpdateDefinition<string, [A]>, arg: A, keyFile: string, out: Out) {
  const key = readKeyFile(keyFile);
  const answer = await withClient(async (client) => {
    const workflowId = rolloutWorkflowId(release);
    const signed = signPayload({ kind: def.name as SignedKind, release, workflowId }, arg, key);
    try {
      return await client.workflow.getHandle(workflowId).executeUpdate(def, { args: [signed] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new Error(`refused: ${err.cause?.message ?? err.message}`, { cause: err });
      throw err;
    }
  });
  out(answer);
}

/** The private key of --key, refused clearly when missing or not an Ed25519 key. */
export function readKeyFile(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`--key: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return loadPrivateKey(pem, `--key ${file}`);
}

type Signed = { key: string };

export async function rolloutApprove(release: string, o: Signed & { role: string; by: string; comment?: string }, out: Out = stdout): Promise<void> {
  await send(release, approveUpdate, { role: o.role, by: o.by, ...(o.comment ? { comment: o.comment } : {}) }, o.key, out);
}

export async function rolloutGo(release: string, o: Signed & { by: string; reason: string; acceptInconclusive?: boolean }, out: Out = stdout): Promise<void> {
  await send(release, goUpdate, { by: o.by, reason: o.reason, ...(o.acceptInconclusive ? { acceptInconclusive: true } : {}) }, o.key, out);
}

export async function rolloutNoGo(release: string, o: Signed & { by: string; reason: string }, out: Out = stdout): Promise<void> {
  await send(release, noGoUpdate, { by: o.by, reason: o.reason }, o.key, out);
}

export async function rolloutRollback(release: string, o: Signed & { by: string; reason: string }, out: Out = stdout): Promise<void> {
  await send(release, rollbackUpdate, { by: o.by, reason: o.reason }, o.key, out);
}

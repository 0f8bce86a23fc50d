import { WorkflowFailedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { isWorkflowRunning } from '../../activities/rollout';
import { listClaims, releaseClaims } from '../../db/claims';
import { listConfig } from '../../db/config-store';
import { revertsOf, type RevertRow } from '../../db/reverts';
import { conflictText, liveLine, liveVsIntended, type LiveRow, type LiveValue } from '../../rollout/restore';
import type { UpdateDefinition } from '@temporalio/common';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadPrivateKey, signPayload } from '../../rollout/keys';
import type { SignedKind } from '../../rollout/signoff';
import { planToInput, formatDuration, type PlanOverrides } from '../../rollout/input';
import type { Environment, GateResult, RolloutStatus } from '../../rollout/types';
import type { PolicyFigures, ShadowComparison } from '../../rollout/shadow';
import { rolloutWorkflowId } from '../../workflows/ids';
import { approveUpdate, confirmUpdate, goUpdate, noGoUpdate, promoteUpdate, rollbackUpdate, statusQuery } from '../../workflows/messages';
import { overrideLine } from '../../workflows/rollout-details';
import { connectTemporal, resolveInfra, withDatabase } from '../services';
import { startRollout } from '../starters';

/** `neuro rollout start|status|approve|go|no-go|confirm|promote|rollback`: a thin client of the `rollout` workflow. */


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
  const workflowId = await withClient(async (client) => {
    const id = await startRollout(client, input, taskQueue);
    await pastPrepare(client, id);
    return id;
  });
  out(`Started rollout ${input.release} (workflow ${workflowId}) by ${input.author}`);
  out(`  changes: ${Object.entries(input.changes).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out(
    `  staging: ${input.validation.cycles} forecast cycles over a ${formatDuration(input.validation.soakMs)} soak; ` +
      `gates: ${input.gates.map((g) => `${g.gate} ${g.comparator} ${g.threshold}`).join(', ')}`,
  );
  for (const o of input.overrides ?? []) out(`  gate override: ${overrideLine(o)}`);
  if (input.validation.shadow) out(`  shadow A/B in staging: challenger ${input.validation.shadow.challenger} beside what serves, every validation cycle`);
  if (input.cohorts) out(`  production in cohort steps (${input.cohorts.promotion} promotion), each watched ${formatDuration(input.monitor.windowMs)}: ${input.cohorts.steps.map((s) => s.name).join(' -> ')}`);
  out(`  sign-offs: ${input.signOffs.join(', ')}; approval timeout ${formatDuration(input.approvalTimeoutMs)}; monitor ${formatDuration(input.monitor.windowMs)}`);
  out(`Follow it with: neuro rollout status ${input.release}`);
}

/**
 * Waits (up to 30 s) until the rollout has passed its prepare step, so a refusal there (a key
 * owned by another unfinished release) is the start command's error, not a surprise in status.
 */
async function pastPrepare(client: Client, workflowId: string, timeoutMs = 30_000): Promise<void> {
  const h = client.workflow.getHandle(workflowId);
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await h.describe()).status.name !== 'RUNNING') {
      try {
        await h.result();
        return;
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new Error(err.cause?.message ?? err.message, { cause: err });
        throw err;
      }
    }
    const s = await h.query(statusQuery).catch(() => undefined);
    // 'done' here is a refusal that closed the workflow after the describe above: read its result next time round.
    if (s && s.stage !== 'prepare' && s.stage !== 'done') return;
    await new Promise((r) => setTimeout(r, 250));
  }
}


/** The live (effective) value of every key the rollout changes, per environment. */
async function liveValues(pool: Pool, s: RolloutStatus): Promise<Partial<Record<Environment, Record<string, LiveValue>>>> {
  const out: Partial<Record<Environment, Record<string, LiveValue>>> = {};
  for (const env of ['staging', 'production'] as const) {
    const entries = (await listConfig(pool, env)).filter((e) => e.key in s.changes.requested);
    out[env] = Object.fromEntries(entries.map((e) => [e.key, { value: e.value, source: e.source, version: e.version, updatedBy: e.updatedBy, updatedAt: e.updatedAt }]));
  }
  return out;
}

async function queryStatus(client: Client, release: string): Promise<RolloutStatus> {
  return client.workflow.getHandle(rolloutWorkflowId(release)).query(statusQuery);
}

const gateLine = (g: GateResult) =>
  `    ${g.status.toUpperCase().padEnd(12)} ${g.gate.padEnd(22)} ${g.measured === null ? 'n/a' : +g.measured.toFixed(2)} ${g.unit} (${g.comparator} ${+g.threshold.toFixed(2)}) — ${g.detail}`;

const fig = (x: number | null) => (x === null ? 'n/a' : x.toFixed(1));

/** The shadow A/B as a small table: overall and per demand class, champion vs challenger. */
function shadowLines(sh: ShadowComparison): string[] {
  const row = (name: string, c: PolicyFigures, ch: PolicyFigures) =>
    `    ${name.padEnd(13)} ${String(c.skus).padStart(5)}  MAPE ${fig(c.mape)} vs ${fig(ch.mape)}  WAPE ${fig(c.wape)} vs ${fig(ch.wape)}  RMSSE ${c.rmsse?.toFixed(3) ?? 'n/a'} vs ${ch.rmsse?.toFixed(3) ?? 'n/a'}  outliers ${c.outlierCount} vs ${ch.outlierCount} (avg MAPE ${fig(c.outlierMape)} vs ${fig(ch.outlierMape)})`;
  const lines = [`  shadow A/B over ${sh.cycles} cycle(s): champion ${sh.champion} vs challenger ${sh.challenger}`, row('overall', sh.overall.champion, sh.overall.challenger)];
  for (const [cls, f] of Object.entries(sh.byClass)) lines.push(row(cls, f.champion, f.challenger));
  if (sh.realised) lines.push(`    realised      ${sh.realised.days} SKU-days  WAPE ${fig(sh.realised.champion.wape)} vs ${fig(sh.realised.challenger.wape)}  MAPE ${fig(sh.realised.champion.mape)} vs ${fig(sh.realised.challenger.mape)}`);
  return lines;
}

/** A cohort rollout's production steps: cohort, state, who promoted, gates on the cohort and the catalogue. */
function stepLines(s: RolloutStatus): string[] {
  const ref = s.cohortReference;
  const lines = [`  cohort steps${ref ? ` (chosen from backtest ${ref.runId ?? 'none'}, outliers: MAPE > ${ref.threshold}%)` : ''}:`];
  for (const st of s.steps ?? []) {
    const skus = st.skus === 'all' ? 'the whole catalogue' : `${st.skus.length} SKUs${st.skus.length ? `: ${st.skus.slice(0, 8).join(', ')}${st.skus.length > 8 ? ', ...' : ''}` : ''}`;
    const by = st.promotedBy ? `; promoted by ${st.promotedBy.by}${st.promotedBy.automatic ? ' (automatic)' : ''}` : '';
    lines.push(`    ${st.name.padEnd(18)} ${st.state.toUpperCase().padEnd(21)} ${skus}${st.startedAt ? `; started ${st.startedAt}` : ''}${by}${st.note ? `; ${st.note}` : ''}`);
    for (const g of st.gates) lines.push(`      ${gateLine(g).trim()}`);
  }
  return lines;
}

export function formatStatus(s: RolloutStatus, live: LiveRow[] = [], reverts: RevertRow[] = []): string[] {
  const lines = [`${s.release}: stage ${s.stage}, state ${s.state}${s.plan ? ` (plan ${s.plan})` : ''}, author ${s.author}`];
  lines.push(`  changes: ${Object.entries(s.changes.requested).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  for (const [env, c] of Object.entries(s.changes.environments)) {
    if (!c) continue;
    const keys = Object.keys(c.after);
    lines.push(
      `  ${env}: ${keys.map((k) => `${k} ${c.before[k]} -> ${c.after[k]}`).join(', ')} (applied ${c.appliedAt}${c.restoredAt ? `, restored ${c.restoredAt}` : ''})`,
    );
  }
  if (live.length) lines.push('  live values (PostgreSQL now) next to what the rollout intends:', ...live.map(liveLine));
  for (const c of s.conflicts ?? []) lines.push(`  CONFLICT: ${conflictText(c)}`);
  const rv = reverts.at(-1);
  if (rv) lines.push(`  revert: ${rv.status} — requested by ${rv.requestedBy} at ${rv.startedAt}: ${rv.reason} (workflow ${rv.workflowId})${rv.detail.error ? `; ${rv.detail.error}` : ''}`);
  for (const o of s.overrides ?? []) lines.push(`  gate override: ${overrideLine(o)}`);
  for (const [env, gates] of Object.entries(s.gates)) {
    if (!gates) continue;
    lines.push(`  gates (${env}):`, ...gates.map(gateLine));
  }
  const got = s.approvals.received.map((a) => `${a.role} (${a.by})`).join(', ') || 'none';
  lines.push(`  sign-offs: ${got}${s.approvals.missing.length ? `; missing: ${s.approvals.missing.join(', ')}` : ''}`);
  if (s.decision) lines.push(`  decision: ${s.decision.kind.toUpperCase()} by ${s.decision.by} — ${s.decision.reason}`);
  if (s.monitorEnd?.allowedInconclusive.length) lines.push(`  inconclusive at the end of monitoring, allowed by the plan (mustHaveData: false): ${s.monitorEnd.allowedInconclusive.join(', ')}`);
  if (s.confirmation) lines.push(`  confirmed by ${s.confirmation.by} — ${s.confirmation.reason}; accepted inconclusive: ${s.confirmation.acceptedInconclusive?.join(', ') || 'none'}`);
  if (s.rollback) {
    lines.push(
      `  rollback: ${s.rollback.automatic ? 'automatic' : `by ${s.rollback.by}`} — ${s.rollback.reason}; restored ${s.rollback.restored.join(', ') || 'nothing'}${s.rollback.durationMs !== undefined ? ` in ${s.rollback.durationMs} ms` : ''}`,
    );
  }
  if (s.shadow) lines.push(...shadowLines(s.shadow));
  if (s.steps) lines.push(...stepLines(s));
  const d = s.deadlines;
  if (s.state === 'awaiting-approval' && d.approvalDeadline) lines.push(`  approval deadline: ${d.approvalDeadline} (then NO-GO)`);
  if (s.stage === 'soak' || s.stage === 'validate') lines.push(`  soak ends: ${d.soakEndsAt}`);
  if (s.stage === 'monitor') lines.push(`  monitoring ends: ${d.monitorEndsAt}`);
  if (s.state === 'awaiting-confirmation') {
    lines.push(
      `  awaiting confirmation: production gates inconclusive (${s.monitorEnd?.inconclusive.join(', ')}); \`neuro rollout confirm ${s.release} --by WHO --reason WHY\` or rollback by ${d.confirmDeadline} (then rollback)`,
    );
  }
  if (s.state === 'awaiting-promotion') {
    const next = s.steps?.find((x) => x.state === 'awaiting-promotion');
    lines.push(`  awaiting promotion to ${next?.name}: \`neuro rollout promote ${s.release} --by WHO --key FILE --reason WHY\` or rollback by ${d.promotionDeadline} (then rollback)`);
  }
  for (const r of s.rejected.slice(-3)) lines.push(`  refused ${r.message}: ${r.reason}`);
  lines.push('  recent:', ...s.timeline.slice(-5).map((t) => `    ${t.at} ${t.event}${t.detail ? ` — ${t.detail}` : ''}`));
  return lines;
}

/** The workflow's status, the live value of each changed key next to the intended one, and its reverts. */
export async function rolloutStatus(release: string, o: { json?: boolean }, out: Out = stdout): Promise<void> {
  const s = await withClient((client) => queryStatus(client, release));
  const { live, reverts } = await withDatabase(async (pool) => ({ live: liveVsIntended(s, await liveValues(pool, s)), reverts: await revertsOf(pool, release) }));
  if (o.json) out(JSON.stringify({ ...s, live, reverts }, null, 2));
  else formatStatus(s, live, reverts).forEach((l) => out(l));
}

/** `neuro rollout claims`: which release owns which key, and whether its workflow still runs. */
export async function rolloutClaims(o: { json?: boolean }, out: Out = stdout): Promise<void> {
  const claims = await withDatabase((pool) => listClaims(pool));
  const running = await withClient(async (client) => {
    const ids = [...new Set(claims.map((c) => c.workflowId))];
    return Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await isWorkflowRunning(client, id)] as const)));
  });
  const rows = claims.map((c) => ({ ...c, workflowRunning: running[c.workflowId] }));
  if (o.json) return out(JSON.stringify(rows, null, 2));
  if (!rows.length) return out('no keys claimed');
  for (const c of rows) out(`${c.environment.padEnd(10)} ${c.key.padEnd(40)} ${c.kind} ${c.release} (workflow ${c.workflowId}, since ${c.claimedAt})${c.workflowRunning ? '' : '  STALE: workflow not running'}`);
}

/**
 * `neuro rollout release-claims RELEASE`: the way out for claims left by a workflow that was
 * terminated (it never reached its end, where claims are given back). Refused while it still runs:
 * then end it with `neuro rollout rollback`.
 */
export async function rolloutReleaseClaims(release: string, out: Out = stdout): Promise<void> {
  await withDatabase(async (pool) => {
    const claims = await listClaims(pool, release);
    if (!claims.length) return out(`release ${release} holds no key claims`);
    for (const id of [...new Set(claims.map((c) => c.workflowId))]) {
      if (await withClient((client) => isWorkflowRunning(client, id))) {
        throw new Error(`workflow ${id} of release ${release} is still running: roll it back (neuro rollout rollback ${release}) instead of releasing its claims`);
      }
      const n = await releaseClaims(pool, id);
      out(`released ${n} key claim(s) of ${release} (workflow ${id} is not running)`);
    }
  });
}

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

/** Starts the next cohort step of a rollout held in awaiting-promotion, on the record. */
export async function rolloutPromote(release: string, o: Signed & { by: string; reason: string }, out: Out = stdout): Promise<void> {
  await send(release, promoteUpdate, { by: o.by, reason: o.reason }, o.key, out);
}

/** Releases a rollout held in awaiting-confirmation (production gates inconclusive), on the record. */
export async function rolloutConfirm(release: string, o: Signed & { by: string; reason: string }, out: Out = stdout): Promise<void> {
  await send(release, confirmUpdate, { by: o.by, reason: o.reason }, o.key, out);
}

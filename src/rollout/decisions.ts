import { initialSteps } from './cohorts';
import { sameName } from './names';
import type { SignedKind } from './signoff';
import type { ApprovePayload, DecisionPayload, Environment, GateResult, GoPayload, RolloutInput, RolloutStage, RolloutState, RolloutStatus, SignerVerdict } from './types';

/**
 * The rollout's rules as pure functions, unit-tested without a server (test/unit/rollout-decisions.test.ts):
 * which message is refused and why, what each accepted message changes, when the watch loop runs a
 * cycle or a check, and how a rollout ends. The workflow (src/workflows/rollout.ts) only sequences
 * them with activities and timers. Times are passed in (workflow time), never read here.
 */

/** How long a rollout holds for `confirm` after monitoring ends with gates inconclusive, unless the input says. */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 24 * 3_600_000;

export type AbortKind = 'rollback' | 'gate' | 'no-go' | 'error' | 'fallback';

/** Why the pipeline stops: set by a message, a failed gate, NO-GO or a failure; then the saga runs. */
export interface Abort {
  kind: AbortKind;
  by: string;
  reason: string;
  automatic: boolean;
  at: number;
}

/** Everything a rollout decides on: the public status, plus the abort and GO flags. */
export interface RolloutRun {
  st: RolloutStatus;
  abort?: Abort;
  goDecided: boolean;
  /** Sign-offs must be signed by a rostered approver (every rollout since patch signed-signoffs). */
  signed?: boolean;
  /** A cohort rollout's signed `promote` for the step waiting (taken when the step starts). */
  promotion?: { by: string; reason: string; at: number };
}

const STAGES_BEFORE_PRODUCTION: RolloutStage[] = ['prepare', 'baseline', 'apply-staging', 'validate', 'soak', 'approval'];
const TERMINAL: RolloutState[] = ['completed', 'rolled-back', 'no-go', 'failed'];

const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
const isObject = (p: unknown): p is Record<string, unknown> => typeof p === 'object' && p !== null && !Array.isArray(p);
const iso = (ms: number) => new Date(ms).toISOString();
/** 4000 -> "4 s", 90000 -> "1.5 min", 86400000 -> "24 h". */
const inUnits = (ms: number) => (ms < 60_000 ? `${+(ms / 1000).toFixed(1)} s` : ms < 3_600_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 3_600_000).toFixed(1)} h`);

/** The status a rollout starts with, from its raw (not yet validated) input. */
export function initialStatus(raw: RolloutInput | undefined, workflowId: string): RolloutStatus {
  return {
    release: String(raw?.release ?? ''),
    workflowId,
    plan: raw?.plan,
    description: String(raw?.description ?? ''),
    author: String(raw?.author ?? ''),
    stage: 'prepare',
    state: 'running',
    changes: { requested: { ...(raw?.changes ?? {}) }, environments: {} },
    gates: {},
    approvals: { required: [...(raw?.signOffs ?? [])], received: [], missing: [...(raw?.signOffs ?? [])] },
    overrides: [...(raw?.overrides ?? [])],
    deadlines: {},
    rejected: [],
    timeline: [],
    ...(raw?.cohorts ? { steps: initialSteps(raw.cohorts) } : {}),
  };
}

export function logEvent(st: RolloutStatus, at: number, event: string, detail?: string): void {
  st.timeline.push({ at: iso(at), event, ...(detail ? { detail } : {}) });
}

// ---- refusals: the reason a message is refused, or undefined to accept it ---------------------------

function finishing(r: RolloutRun): string | undefined {
  if (r.abort) return `the rollout is already ending (${r.abort.kind} by ${r.abort.by}: ${r.abort.reason})`;
  return TERMINAL.includes(r.st.state) ? `the rollout is ${r.st.state}` : undefined;
}

function refuseDecisionPayload(p: unknown): string | undefined {
  if (!isObject(p)) return 'payload must be a JSON object {"by": "...", "reason": "..."}';
  if (!str(p.by)) return '"by" (who decides) is required';
  if (!str(p.reason)) return '"reason" is required';
  return undefined;
}

export function refuseApprove(r: RolloutRun, p: unknown): string | undefined {
  const { approvals, author, release } = r.st;
  if (!isObject(p)) return 'payload must be a JSON object {"role": "...", "by": "...", "comment": "..."}';
  const role = str(p.role);
  const by = str(p.by);
  if (!role) return `"role" is required (one of: ${approvals.required.join(', ')})`;
  if (!by) return '"by" (who approves) is required';
  if (p.comment !== undefined && typeof p.comment !== 'string') return '"comment" must be a string';
  if (!approvals.required.includes(role)) return `unknown sign-off role "${role}" (required: ${approvals.required.join(', ')})`;
  // Names compare after NFKC and confusable folding: a Cyrillic look-alike of the author is the author.
  if (sameName(by, author)) return `${by} is the author of ${release} (or looks like "${author}") and may not approve it`;
  const same = approvals.received.find((a) => a.role === role);
  if (same) return `${role} already signed off by ${same.by}`;
  const twice = approvals.received.find((a) => sameName(a.by, by));
  if (twice) return `${by} already signed off as ${twice.role}; each role needs its own approver`;
  if (r.goDecided) return 'the GO decision has already been made';
  return finishing(r);
}

/** Inconclusive gates that need data: a window ending with these is not a pass. */
export const needData = (results: GateResult[] = []): GateResult[] => results.filter((g) => g.status === 'inconclusive' && g.mustHaveData !== false);
/** Inconclusive gates the plan lets end without data (mustHaveData: false). */
export const allowedNoData = (results: GateResult[] = []): GateResult[] => results.filter((g) => g.status === 'inconclusive' && g.mustHaveData === false);
const inWords = (gs: GateResult[]) => gs.map((g) => `${g.gate} (${g.detail})`).join('; ');
const names = (gs: GateResult[]) => gs.map((g) => g.gate);

export function refuseGo(r: RolloutRun, p: unknown): string | undefined {
  const bad = refuseDecisionPayload(p) ?? finishing(r);
  if (bad) return bad;
  if (r.goDecided) return 'GO has already been given';
  if (r.st.stage !== 'approval') return `GO is possible once the staging soak has passed its gates (stage now: ${r.st.stage})`;
  if (r.st.approvals.missing.length) return `sign-offs missing: ${r.st.approvals.missing.join(', ')}`;
  const open = needData(r.st.gates.staging);
  if (open.length && (p as GoPayload).acceptInconclusive !== true) {
    return `gates inconclusive: ${inWords(open)}; send GO with "acceptInconclusive": true to accept them`;
  }
  return undefined;
}

export function refuseNoGo(r: RolloutRun, p: unknown): string | undefined {
  const bad = refuseDecisionPayload(p) ?? finishing(r);
  if (bad) return bad;
  if (r.goDecided || !STAGES_BEFORE_PRODUCTION.includes(r.st.stage)) return 'already promoted (GO given): use rollback';
  return undefined;
}

export function refuseRollback(r: RolloutRun, p: unknown): string | undefined {
  return refuseDecisionPayload(p) ?? finishing(r);
}

export function refuseConfirm(r: RolloutRun, p: unknown): string | undefined {
  const bad = refuseDecisionPayload(p) ?? finishing(r);
  if (bad) return bad;
  if (r.st.confirmation) return `already confirmed by ${r.st.confirmation.by}`;
  if (r.st.state !== 'awaiting-confirmation') {
    return `confirm is for a rollout whose production monitoring ended with gates inconclusive (state now: ${r.st.state}, stage ${r.st.stage})`;
  }
  return undefined;
}

export function refusePromote(r: RolloutRun, p: unknown): string | undefined {
  const bad = refuseDecisionPayload(p) ?? finishing(r);
  if (bad) return bad;
  if (r.promotion) return `already promoted by ${r.promotion.by}`;
  if (r.st.state !== 'awaiting-promotion') {
    return `promote is for a cohort rollout whose step passed and waits for the next (state now: ${r.st.state}, stage ${r.st.stage})`;
  }
  return undefined;
}

// ---- signatures: who signed, and whether they may send this message ---------------------------------

/** Unsigned: refused before anything is looked up. */
export function refuseUnsigned(p: unknown): string | undefined {
  const sig = isObject(p) ? p.signature : undefined;
  if (typeof sig !== 'string' || !sig) return 'unsigned: a "signature" is required (neuro rollout ... --key FILE signs; the format is in the README)';
  return undefined;
}

/**
 * After the signature was checked against the roster: approve needs the role signed for and not
 * the author; GO, NO-GO and confirm need a holder of one of this rollout's sign-off roles (GO and confirm not the
 * author); rollback needs only a rostered signer (anyone on the roster may stop a release).
 */
export function refuseSigner(r: RolloutRun, kind: SignedKind, p: unknown, v: SignerVerdict): string | undefined {
  if (!v.ok) return v.reason;
  const { author, release, approvals } = r.st;
  const roles = v.roles.join(', ') || 'none';
  if (kind === 'approve') {
    const role = str((p as ApprovePayload).role);
    if (!v.roles.includes(role)) return `${v.name} does not hold the role ${role} (roster roles: ${roles})`;
    if (sameName(v.name, author)) return `${v.name} is the author of ${release} and may not approve it`;
  }
  if (kind === 'go' || kind === 'noGo' || kind === 'confirm' || kind === 'promote') {
    if (!v.roles.some((x) => approvals.required.includes(x))) return `${v.name} holds none of this rollout's sign-off roles (${approvals.required.join(', ')}; roster roles: ${roles})`;
    const act = { go: 'give GO', confirm: 'confirm it', promote: 'promote it', noGo: '' }[kind];
    if (kind !== 'noGo' && sameName(v.name, author)) return `${v.name} is the author of ${release} and may not ${act}`;
  }
  return undefined;
}

/** The payload as the verified signer sent it: `by` is the name as rostered. */
export function signedBy<P extends { by: string }>(p: P, v: SignerVerdict): P {
  return v.ok ? { ...p, by: v.name } : p;
}

// ---- transitions: an accepted message's effect on the run, and the reply -----------------------------

export function approve(r: RolloutRun, p: ApprovePayload, at: number): string {
  const { approvals } = r.st;
  const a = { role: str(p.role), by: str(p.by), ...(p.comment ? { comment: p.comment } : {}), at: iso(at) };
  approvals.received.push(a);
  approvals.missing = approvals.required.filter((role) => !approvals.received.some((x) => x.role === role));
  logEvent(r.st, at, 'approved', `${a.role} by ${a.by}${a.comment ? `: ${a.comment}` : ''}`);
  return `${a.role} signed off by ${a.by}; ${approvals.missing.length ? `missing: ${approvals.missing.join(', ')}` : 'all sign-offs in'}`;
}

export function go(r: RolloutRun, p: GoPayload, at: number): string {
  const accepted = names(needData(r.st.gates.staging));
  const allowed = names(allowedNoData(r.st.gates.staging));
  const d = {
    kind: 'go' as const,
    by: str(p.by),
    reason: str(p.reason),
    at: iso(at),
    ...(accepted.length ? { acceptedInconclusive: accepted } : {}),
    ...(allowed.length ? { allowedInconclusive: allowed } : {}),
  };
  r.st.decision = d;
  r.goDecided = true;
  logEvent(r.st, at, 'GO', `${d.by}: ${d.reason}${accepted.length ? ` (accepting inconclusive: ${accepted.join(', ')})` : ''}`);
  return `GO recorded by ${d.by}; promoting ${r.st.release} to production`;
}

export function noGo(r: RolloutRun, p: DecisionPayload, at: number): string {
  const by = str(p.by);
  const reason = str(p.reason);
  r.st.decision = { kind: 'no-go', by, reason, at: iso(at) };
  r.abort = { kind: 'no-go', by, reason, automatic: false, at };
  logEvent(r.st, at, 'NO-GO', `${by}: ${reason}`);
  return `NO-GO recorded by ${by}; restoring staging`;
}

/** The explicit decision to release although production gates stayed inconclusive: recorded like a GO. */
export function confirm(r: RolloutRun, p: DecisionPayload, at: number): string {
  const accepted = r.st.monitorEnd?.inconclusive ?? names(needData(r.st.gates.production));
  const allowed = r.st.monitorEnd?.allowedInconclusive ?? [];
  const d = {
    kind: 'confirm' as const,
    by: str(p.by),
    reason: str(p.reason),
    at: iso(at),
    acceptedInconclusive: accepted,
    ...(allowed.length ? { allowedInconclusive: allowed } : {}),
  };
  r.st.confirmation = d;
  logEvent(r.st, at, 'confirmed', `${d.by}: ${d.reason} (accepting inconclusive: ${accepted.join(', ') || 'none'})`);
  return `confirmed by ${d.by}: releasing ${r.st.release} with inconclusive production gates ${accepted.join(', ') || 'none'}`;
}

/** The signed go-ahead for the next cohort step; the workflow records it on the step it starts. */
export function promote(r: RolloutRun, p: DecisionPayload, at: number): string {
  r.promotion = { by: str(p.by), reason: str(p.reason), at };
  const next = r.st.steps?.find((s) => s.state === 'awaiting-promotion');
  logEvent(r.st, at, 'promoted', `${str(p.by)}: ${str(p.reason)}${next ? ` (next: ${next.name})` : ''}`);
  return `promoted by ${str(p.by)}: starting ${next?.name ?? 'the next step'} of ${r.st.release}`;
}

/** No `promote` before the deadline: the system's rollback of every step so far. */
export function promotionTimedOut(r: RolloutRun, step: string, timeoutMs: number, at: number): void {
  const reason = `no promote to ${step} by the deadline ${r.st.deadlines.promotionDeadline ?? iso(at)} (${inUnits(timeoutMs)} after the previous step passed)`;
  r.abort = { kind: 'rollback', by: 'system', reason, automatic: true, at };
  logEvent(r.st, at, 'promotion timed out', reason);
}

export function requestRollback(r: RolloutRun, p: DecisionPayload, at: number): void {
  r.abort = { kind: 'rollback', by: str(p.by), reason: str(p.reason), automatic: false, at };
  logEvent(r.st, at, 'rollback requested', `${str(p.by)}: ${str(p.reason)}`);
}

export function refuse(r: RolloutRun, message: string, reason: string, at: number): void {
  r.st.rejected.push({ at: iso(at), message, reason });
  logEvent(r.st, at, `refused ${message}`, reason);
}

/** No GO before the approval deadline: the system's NO-GO, naming what was missing. */
export function approvalTimedOut(r: RolloutRun, timeoutMs: number, at: number): void {
  const reason = `no GO within the approval timeout (${timeoutMs} ms); missing sign-offs: ${r.st.approvals.missing.join(', ') || 'none'}`;
  noGo(r, { by: 'system', reason }, at);
}

export function gateFailed(r: RolloutRun, environment: Environment, why: string, at: number): void {
  r.abort = { kind: 'gate', by: 'rollout', reason: `gate failed in ${environment}: ${why}`, automatic: true, at };
}

/**
 * What a rollout writes in an environment: its change set, except that with a shadow A/B staging
 * keeps its ENABLE_HYBRID_FORECASTING: staging goes on serving what it serves (the champion) while
 * the hybrid runs beside it as the challenger, with the change set's model keys.
 */
export function changesFor<C extends Record<string, unknown>>(input: { changes: C; validation: { shadow?: unknown } }, environment: Environment): C {
  if (environment !== 'staging' || !input.validation.shadow || !('ENABLE_HYBRID_FORECASTING' in input.changes)) return input.changes;
  const rest = { ...input.changes };
  delete rest.ENABLE_HYBRID_FORECASTING;
  return rest;
}

// ---- the hybrid's automatic fallback ------------------------------------------------------------

/** A rollout of the hybrid (P3): it turns hybrid forecasting on, or shadows a challenger. */
export const isHybridRollout = (input: Pick<RolloutInput, 'changes' | 'validation'>): boolean =>
  input.changes.ENABLE_HYBRID_FORECASTING === true || input.validation.shadow !== undefined;

/** The plan's "if hybrid model MAPE > 20%, automatically revert to Prophet-only": no data, no breach. */
export const fallbackBreached = (measured: number | null, threshold: number): measured is number => measured !== null && measured > threshold;

export function fallBack(r: RolloutRun, environment: Environment, measured: number, threshold: number, at: number): void {
  r.abort = { kind: 'fallback', by: 'rollout', reason: `hybrid fallback in ${environment}: MAPE ${measured.toFixed(2)}% > HYBRID_FALLBACK_MAPE ${threshold}%`, automatic: true, at };
}

/** Guard after monitoring: checks every interval until the period ends; the next check's time, or undefined when over. */
export function nextGuardCheck(startMs: number, windowMs: number, intervalMs: number, nowMs: number): number | undefined {
  const end = startMs + windowMs;
  if (nowMs >= end) return undefined;
  const next = startMs + (Math.floor((nowMs - startMs) / intervalMs) + 1) * intervalMs;
  return Math.min(next, end);
}

export function stepFailed(r: RolloutRun, message: string, at: number): void {
  r.abort = { kind: 'error', by: 'rollout', reason: `step failed: ${message}`, automatic: true, at };
}

/**
 * Production monitoring ended without a failed gate: records which gates stayed inconclusive and
 * returns those that need data (the rollout then holds for `confirm` or `rollback`); gates the plan
 * lets end without data (mustHaveData: false) are recorded, and do not hold it.
 */
export function monitorEnded(r: RolloutRun, at: number): GateResult[] {
  const results = r.st.gates.production ?? [];
  const open = needData(results);
  const allowed = allowedNoData(results);
  if (!open.length && !allowed.length) return [];
  r.st.monitorEnd = { at: iso(at), inconclusive: names(open), allowedInconclusive: names(allowed) };
  if (allowed.length) logEvent(r.st, at, 'inconclusive allowed by the plan', `${inWords(allowed)} (mustHaveData: false)`);
  if (open.length) logEvent(r.st, at, 'monitoring ended inconclusive', `${inWords(open)}; waiting for confirm or rollback`);
  return open;
}

export const confirmTimeoutMs = (input: Pick<RolloutInput, 'confirmTimeoutMs'>): number => input.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS;

/** No `confirm` before the deadline: the system's rollback, naming the inconclusive gates and the deadline. */
export function confirmTimedOut(r: RolloutRun, timeoutMs: number, at: number): void {
  const open = r.st.monitorEnd?.inconclusive ?? [];
  const reason = `no confirm by the deadline ${r.st.deadlines.confirmDeadline ?? iso(at)} (${inUnits(timeoutMs)} after monitoring ended); production gates inconclusive: ${open.join(', ') || 'none'}`;
  r.abort = { kind: 'rollback', by: 'system', reason, automatic: true, at };
  logEvent(r.st, at, 'confirm timed out', reason);
}

/** The state a rollout ends in. */
export function endState(abort: Abort | undefined): RolloutState {
  if (!abort) return 'completed';
  return abort.kind === 'no-go' ? 'no-go' : abort.kind === 'error' ? 'failed' : 'rolled-back';
}

/** Failed gates in words, or undefined when none failed. */
export function failedGates(results: GateResult[]): string | undefined {
  const failed = results.filter((g) => g.status === 'fail');
  return failed.length ? failed.map((g) => `${g.gate}: ${g.detail}`).join('; ') : undefined;
}

// ---- the watch loop's schedule -----------------------------------------------------------------

/** A watched window: cycles spread evenly from its start, checks every interval, a final check at the end. */
export interface WatchPlan {
  startMs: number;
  windowMs: number;
  cycles: number;
  intervalMs: number;
}

/** Where a watch stands: cycles run so far and when the next interval check is due. */
export interface WatchPosition {
  cyclesDone: number;
  nextCheckMs: number;
}

export type WatchStep = { kind: 'cycle'; n: number } | { kind: 'check' } | { kind: 'end' } | { kind: 'sleep'; untilMs: number };

export const cycleDueAt = (w: WatchPlan, i: number): number => w.startMs + Math.floor((i * w.windowMs) / Math.max(w.cycles, 1));

export const startWatch = (w: WatchPlan): WatchPosition => ({ cyclesDone: 0, nextCheckMs: w.startMs + w.intervalMs });

/**
 * What the watch does at time t: a cycle that is due (then its gates), else the end of the window
 * once every cycle ran, else an interval check that is due, else sleep until the next of these.
 */
export function watchStep(w: WatchPlan, pos: WatchPosition, t: number): WatchStep {
  const end = w.startMs + w.windowMs;
  if (pos.cyclesDone < w.cycles && t >= cycleDueAt(w, pos.cyclesDone)) return { kind: 'cycle', n: pos.cyclesDone + 1 };
  if (pos.cyclesDone >= w.cycles && t >= end) return { kind: 'end' };
  if (t >= pos.nextCheckMs) return { kind: 'check' };
  const nextCycle = pos.cyclesDone < w.cycles ? cycleDueAt(w, pos.cyclesDone) : end;
  return { kind: 'sleep', untilMs: Math.min(nextCycle, pos.nextCheckMs, end) };
}

/**
 * When the next interval check is due after gates were evaluated at `checkedAt` (by a check or a
 * cycle): the next point of the plan's grid (start + k x interval) after it, so checks neither drift
 * by the time each takes nor repeat right after a cycle's own evaluation; points missed meanwhile
 * (a long cycle) collapse into the next one.
 */
export function nextCheckAfter(w: WatchPlan, pos: WatchPosition, checkedAt: number): number {
  let next = pos.nextCheckMs;
  while (next <= checkedAt) next += w.intervalMs;
  return next;
}

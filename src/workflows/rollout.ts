import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  allHandlersFinished,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import * as cohorts from '../rollout/cohorts';
import * as rules from '../rollout/decisions';
import type { RolloutRun, WatchPlan } from '../rollout/decisions';
import type { SignedKind } from '../rollout/signoff';
import { overallStatus } from '../rollout/gates';
import { recordConflicts } from '../rollout/restore';
import type { CohortStep, Environment, GateSpec, RolloutInput, RolloutStage, RolloutState, RolloutStatus } from '../rollout/types';
import { forecastRun } from './forecast-run';
import { cyclePrefetchId, rolloutCycleId, rolloutPostDeployId } from './ids';
import {
  approveSignal,
  approveUpdate,
  confirmSignal,
  confirmUpdate,
  goSignal,
  goUpdate,
  noGoSignal,
  noGoUpdate,
  promoteSignal,
  promoteUpdate,
  rollbackSignal,
  rollbackUpdate,
  statusQuery,
} from './messages';
import { postDeployPrefetch, prefetch } from './prefetch';
import { duration, rolloutDetails, watchTimerSummary } from './rollout-details';
import { FALLBACK, RELEASE_TAG, STAGE, STATUS } from './search-attributes';

/**
 * The kickoff plan's runbook as one durable workflow: snapshot -> apply to staging -> validation
 * cycles -> gates over the soak window -> sign-offs and GO/NO-GO -> apply to production ->
 * post-deploy prefetch -> monitoring -> a confirm when a gate stayed inconclusive (no silent
 * pass) -> release record. Every config change pushes its
 * compensation (restore the snapshot) right after it succeeds; a rollback (signal/update, a failed
 * gate, NO-GO, a failure) cancels the pipeline and runs the compensations in reverse.
 * The rules (who may send what when, the watch schedule, how it ends) are in src/rollout/decisions.ts.
 */

const RECORD_OPTIONS = { startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '10s' } } as const;
const { chooseCohort, compareShadowRuns, hybridFallbackCheck, prepareRollout, recordRollout, writeReleaseRecord, releaseKeyClaims } = proxyActivities<Activities>(RECORD_OPTIONS);
const { assignCohort: assignCohortActivity, restoreCohortAssignments } = proxyActivities<Activities>(RECORD_OPTIONS);
// Config reads and writes are small transactions: short timeouts and fast retries keep a rollback in seconds.
const CONFIG_OPTIONS = { startToCloseTimeout: '20s', retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' } } as const;
const { snapshotConfig } = proxyActivities<Activities>(CONFIG_OPTIONS);
/**
 * Signatures are checked by a local activity against the live roster (node:crypto, PostgreSQL):
 * a removed approver is refused at once, and a rollback pays one local call (milliseconds, no
 * round trip through the server's task queue), not a scheduled activity.
 */
const { verifySignoff } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s' } });
/** Activities named in the Web UI ("gates staging", "apply to production"): the summary is a per-call option. */
const named = (summary: string) => ({
  applyConfig: proxyActivities<Activities>({ ...CONFIG_OPTIONS, summary }).applyConfig,
  restoreConfig: proxyActivities<Activities>({ ...CONFIG_OPTIONS, summary }).restoreConfig,
  evaluateRolloutGates: proxyActivities<Activities>({ ...RECORD_OPTIONS, summary }).evaluateRolloutGates,
});

/** The workflow clock: Date inside a workflow is replay-safe (it is the workflow task's time). */
const nowMs = () => new Date().getTime();
const iso = (ms: number = nowMs()) => new Date(ms).toISOString();

/** One rollout execution: its run state, validated input and saga (newest compensation first). */
interface Rollout {
  r: RolloutRun;
  input: RolloutInput;
  /** Each restores one environment; false when a compare-and-set conflict left it as it is. */
  compensations: { environment: Environment; assignments?: true; run: () => Promise<boolean> }[];
  /** Staging cycles that ran the shadow A/B, compared after each. */
  shadowRuns: string[];
  /** The cohort step being watched: its production cycles are named after it, its outlier gates measured on its SKUs too. */
  step?: { name: string; skus: string[] | 'all' };
}

export async function rollout(raw: RolloutInput): Promise<RolloutStatus> {
  // Decided once, first: histories recorded before signed sign-offs replay with unsigned messages.
  const signed = patched('signed-signoffs');
  const ro: Rollout = { r: { st: rules.initialStatus(raw, workflowInfo().workflowId), goDecided: false, signed }, input: raw, compensations: [], shadowRuns: [] };
  const { r } = ro;
  handleMessages(r);

  const scope = new CancellationScope();
  let error: unknown;
  let finished = false;
  const run = scope.run(() => pipeline(ro, raw)).then(
    () => void (finished = true),
    (err) => void (error = err),
  );
  await Promise.race([run, condition(() => r.abort !== undefined)]);
  if (!finished && error === undefined && r.abort) {
    scope.cancel();
    await run;
    if (isCancellation(error)) error = undefined;
  }

  if (error !== undefined && !r.abort) {
    const message = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
    r.st.error = message;
    if (!ro.compensations.length && r.st.stage === 'prepare') {
      // Bad input: nothing was applied; fail the execution with the reason.
      setStage(r, 'done', 'failed');
      throw ApplicationFailure.nonRetryable(`rollout ${r.st.release} refused: ${message}`, 'RolloutInputError');
    }
    rules.stepFailed(r, message, nowMs());
  }

  if (r.abort) await rollBack(ro);
  setStage(r, r.abort ? 'rollback' : 'release', rules.endState(r.abort));
  memo(r.st);
  await writeReleaseRecord(r.st);
  await recordRollout(r.st);
  // The keys are free for the next release once this one is recorded as ended.
  if (patched('release-key-claims')) await releaseKeyClaims(r.st.workflowId);
  setStage(r, 'done');
  await condition(allHandlersFinished);
  if (r.st.state === 'failed') throw ApplicationFailure.nonRetryable(`rollout ${r.st.release} failed and was rolled back: ${r.st.error}`, 'RolloutFailed');
  return r.st;
}

/** The runbook; returns normally when released, or after setting `abort` to stop. */
async function pipeline(ro: Rollout, raw: RolloutInput): Promise<void> {
  const { r } = ro;
  const input = (ro.input = await prepareRollout({ input: raw, workflowId: r.st.workflowId }));
  upsertSearchAttributes([{ key: RELEASE_TAG, value: input.release }]);
  memo(r.st);
  const startedMs = nowMs();
  if (input.gates.some((g) => g.baselineFactor !== undefined) && input.validation.baselineCycles > 0) {
    setStage(r, 'baseline');
    for (let i = 1; i <= input.validation.baselineCycles; i++) await forecastCycle(ro, 'staging', `baseline-cycle-${i}`, 'baseline');
  }

  await applyTo(ro, 'staging');
  const stagingStart = nowMs();
  r.st.deadlines.soakEndsAt = iso(stagingStart + input.validation.soakMs);
  setStage(r, 'validate');
  const { soakMs, cycles, checkIntervalMs } = input.validation;
  const stagingFailed = await watch(ro, 'staging', { startMs: stagingStart, windowMs: soakMs, cycles, intervalMs: checkIntervalMs }, input.gates, { from: startedMs, to: stagingStart });
  if (stagingFailed) return void (r.abort ?? rules.gateFailed(r, 'staging', stagingFailed, nowMs()));

  r.st.deadlines.approvalDeadline = iso(nowMs() + input.approvalTimeoutMs);
  setStage(r, 'approval', 'awaiting-approval');
  await recordRollout(r.st);
  if (!(await condition(() => r.goDecided, input.approvalTimeoutMs, { summary: `approval deadline (${duration(input.approvalTimeoutMs)})` }))) return rules.approvalTimedOut(r, input.approvalTimeoutMs, nowMs());
  r.st.state = 'running';

  const released = input.cohorts ? await cohortSteps(ro) : await monitorProduction(ro);
  if (released) await guard(ro);
}

/** Production all at once: apply, the post-deploy prefetch, monitoring, a confirm if gates stayed inconclusive. */
async function monitorProduction(ro: Rollout): Promise<boolean> {
  const { r, input } = ro;
  const { startMs: productionStart, child: prefetchChild } = await promote(ro);
  r.st.deadlines.monitorEndsAt = iso(productionStart + input.monitor.windowMs);
  setStage(r, 'monitor');
  const productionFailed = await watchProduction(ro, productionStart);
  if (productionFailed) {
    if (!r.abort) rules.gateFailed(r, 'production', productionFailed, nowMs());
    return false;
  }
  if (!(await confirmInconclusive(ro))) return false;
  await prefetchDone(r, prefetchChild);
  return true;
}

/**
 * Production in cohort steps (P3): each step assigns its cohort what the plan serves (the last, the
 * catalogue, applies the change set), is watched like the monitoring window with its gates on the
 * cohort and the catalogue, and holds for `confirm` if gates stayed inconclusive; the next starts
 * once it passed (manual promotion: after a signed `promote`). Rules: src/rollout/cohorts.ts.
 */
async function cohortSteps(ro: Rollout): Promise<boolean> {
  const { r, input } = ro;
  const spec = input.cohorts!;
  let prefetchChild: PrefetchChild | undefined;
  for (const [i, planned] of spec.steps.entries()) {
    const step = cohorts.stepAt(r.st, i);
    if (cohorts.waitsForPromotion(spec, r.st, i) && !(await awaitPromotion(ro, step))) return false;
    const chosen = await chooseCohort({ environment: 'production', step: planned, earlier: cohorts.earlierSkus(r.st, i), ...(r.st.cohortReference ? { reference: r.st.cohortReference } : {}) });
    r.st.cohortReference = chosen.reference;
    step.skus = chosen.skus;
    if (chosen.note) {
      Object.assign(step, { state: 'skipped', note: chosen.note, endedAt: iso() });
      log(r, `step ${step.name} skipped`, chosen.note);
      continue;
    }
    if (chosen.skus === 'all') prefetchChild = (await promote(ro)).child;
    else await assignCohort(ro, step.name, chosen.skus);
    const startMs = nowMs();
    step.promotedBy ??= { by: 'rollout', reason: i === 0 ? 'GO' : 'the previous step passed (automatic promotion)', at: iso(startMs), automatic: true };
    Object.assign(step, { state: 'running', startedAt: iso(startMs) });
    ro.step = { name: step.name, skus: chosen.skus };
    r.st.deadlines.monitorEndsAt = iso(startMs + input.monitor.windowMs);
    delete r.st.confirmation; // an earlier step's, kept on that step
    delete r.st.monitorEnd;
    setStage(r, 'monitor');
    log(r, `step ${step.name} started`, chosen.skus === 'all' ? 'the whole catalogue' : `${chosen.skus.length} SKUs: ${chosen.skus.slice(0, 10).join(', ')}${chosen.skus.length > 10 ? ', ...' : ''}`);
    const failed = await watchProduction(ro, startMs);
    step.gates = r.st.gates.production ?? [];
    if (failed) {
      Object.assign(step, { state: 'failed', endedAt: iso() });
      if (!r.abort) rules.gateFailed(r, 'production', `step ${step.name}: ${failed}`, nowMs());
      return false;
    }
    step.state = 'awaiting-confirmation';
    const confirmed = await confirmInconclusive(ro);
    if (r.st.confirmation) step.confirmation = r.st.confirmation;
    if (!confirmed) return false;
    Object.assign(step, { state: 'passed', endedAt: iso() });
    log(r, `step ${step.name} passed`);
  }
  ro.step = undefined;
  await prefetchDone(r, prefetchChild);
  return true;
}

/** Manual promotion: hold in awaiting-promotion for a signed `promote` until the deadline, then roll back. */
async function awaitPromotion({ r, input }: Rollout, step: CohortStep): Promise<boolean> {
  const timeoutMs = rules.confirmTimeoutMs(input);
  r.st.deadlines.promotionDeadline = iso(nowMs() + timeoutMs);
  step.state = 'awaiting-promotion';
  setStage(r, 'promotion', 'awaiting-promotion');
  await recordRollout(r.st);
  if (!(await condition(() => r.promotion !== undefined || r.abort !== undefined, timeoutMs, { summary: `promote to ${step.name} deadline (${duration(timeoutMs)})` }))) {
    rules.promotionTimedOut(r, step.name, timeoutMs, nowMs());
    return false;
  }
  if (!r.promotion) return false;
  step.promotedBy = { by: r.promotion.by, reason: r.promotion.reason, at: iso(r.promotion.at), automatic: false };
  r.promotion = undefined;
  r.st.state = 'running';
  return true;
}

type PrefetchChild = ChildWorkflowHandle<typeof postDeployPrefetch>;

/** Applies the change set to production and starts the post-deploy prefetch (the plan's deploy hook); startMs: when applied. */
async function promote(ro: Rollout): Promise<{ startMs: number; child?: PrefetchChild }> {
  const { r, input } = ro;
  await applyTo(ro, 'production');
  const startMs = nowMs();
  if (!input.monitor.postDeployPrefetch) return { startMs };
  const child = await startChild(postDeployPrefetch, {
    workflowId: rolloutPostDeployId(r.st.workflowId),
    args: [{ environment: 'production', deployId: `rollout-${r.st.release}` }],
    ...childCancellation(),
    staticSummary: `post-deploy prefetch after promoting ${r.st.release} to production`,
  });
  log(r, 'post-deploy prefetch started', child.workflowId);
  return { startMs, child };
}

async function prefetchDone(r: RolloutRun, child: PrefetchChild | undefined): Promise<void> {
  if (!child) return;
  await child.result();
  log(r, 'post-deploy prefetch done');
}

/** The production watch from startMs: the monitor window, its cycles and checks, the production gates. */
function watchProduction(ro: Rollout, startMs: number): Promise<string | undefined> {
  const { windowMs, cycles, checkIntervalMs } = ro.input.monitor;
  return watch(ro, 'production', { startMs, windowMs, cycles, intervalMs: checkIntervalMs }, ro.input.productionGates ?? ro.input.gates);
}

/**
 * A cohort's SKUs assigned for this rollout; the compensation (pushed before the first write, so a
 * rollback mid-write restores what was written) puts back exactly what they had before.
 */
async function assignCohort(ro: Rollout, cohort: string, skus: string[]): Promise<void> {
  const { r, input } = ro;
  const ids = { workflowId: r.st.workflowId, release: r.st.release, environment: 'production' as const };
  if (!ro.compensations.some((c) => c.assignments)) {
    ro.compensations.unshift({
      environment: 'production',
      assignments: true,
      run: async () => {
        const back = await restoreCohortAssignments({ ...ids, by: `rollback:${r.abort?.by ?? 'rollout'}`, reason: `rollback of ${r.st.release}: ${r.abort?.reason ?? ''}` });
        r.st.rollback!.assignments = back;
        log(r, 'cohort assignments restored', `${back.restored} SKUs back to what they had${back.skipped.length ? `; left (changed since): ${back.skipped.join(', ')}` : ''}`);
        return true;
      },
    });
  }
  setStage(r, 'apply-production');
  const { assigned } = await CancellationScope.nonCancellable(() => assignCohortActivity({ ...ids, cohort, serves: input.cohorts!.serves, skus }));
  log(r, `assigned ${input.cohorts!.serves} to cohort ${cohort}`, `${assigned.length} SKUs newly assigned, ${skus.length} in the cohort`);
  await recordRollout(r.st);
}

/**
 * After monitoring, a hybrid rollout's guard: the automatic fallback checked every interval on the
 * newest production run, until the guard window ends. A breach sets the abort (the saga runs).
 */
async function guard(ro: Rollout): Promise<void> {
  const { r, input } = ro;
  if (!input.guard || !rules.isHybridRollout(input) || !patched('hybrid-fallback')) return;
  const { windowMs, checkIntervalMs } = input.guard;
  const startMs = nowMs();
  r.st.deadlines.guardEndsAt = iso(startMs + windowMs);
  setStage(r, 'guard');
  await recordRollout(r.st);
  for (let next = rules.nextGuardCheck(startMs, windowMs, checkIntervalMs, startMs); next !== undefined; next = rules.nextGuardCheck(startMs, windowMs, checkIntervalMs, nowMs())) {
    await sleep(Math.max(1, next - nowMs()), { summary: `fallback guard: check the newest production run (until ${r.st.deadlines.guardEndsAt})` });
    if (await fallbackCheck(ro, 'production', startMs)) return;
  }
}

/**
 * The plan's "if hybrid MAPE > 20%, automatically revert": the hybrid's overall MAPE (in staging
 * with a shadow, the challenger's) against HYBRID_FALLBACK_MAPE; a breach is an automatic rollback.
 */
async function fallbackCheck({ r }: Rollout, environment: Environment, fromMs: number): Promise<boolean> {
  const measured = environment === 'staging' && r.st.shadow ? r.st.shadow.overall.challenger.mape : undefined;
  const c = await hybridFallbackCheck({ environment, from: iso(fromMs), ...(measured !== undefined ? { measured } : {}) });
  log(r, `fallback check ${environment}: ${c.breach ? 'BREACH' : 'ok'}`, `hybrid MAPE ${c.measured === null ? 'n/a (no run yet)' : `${c.measured.toFixed(2)}%`} vs HYBRID_FALLBACK_MAPE ${c.threshold}%`);
  if (!c.breach) return false;
  rules.fallBack(r, environment, c.measured!, c.threshold, nowMs());
  upsertSearchAttributes([{ key: FALLBACK, value: 'automatic' }]);
  return true;
}

/**
 * No silent pass: when monitoring ended with gates inconclusive that need data, hold in
 * awaiting-confirmation for `confirm` (then release) or `rollback`, until the deadline (then roll
 * back). Returns false when the rollout is to stop (abort set).
 */
async function confirmInconclusive({ r, input }: Rollout): Promise<boolean> {
  const open = rules.monitorEnded(r, nowMs());
  // Histories recorded before released with inconclusive production gates.
  if (!open.length || !patched('confirm-inconclusive')) return true;
  const timeoutMs = rules.confirmTimeoutMs(input);
  r.st.deadlines.confirmDeadline = iso(nowMs() + timeoutMs);
  setStage(r, 'confirmation', 'awaiting-confirmation');
  await recordRollout(r.st);
  if (!(await condition(() => r.st.confirmation !== undefined, timeoutMs, { summary: `confirm deadline (${duration(timeoutMs)})` }))) {
    rules.confirmTimedOut(r, timeoutMs, nowMs());
    return false;
  }
  r.st.state = 'running';
  return true;
}

// ---- messages: Updates (answered) and same-named Signals (refusals recorded) share the rules ----

type Refusal = (r: RolloutRun, p: unknown) => string | undefined;

/**
 * Why a signed message is refused, or undefined: unsigned (no look-up), then the signature and the
 * signer's roles against the roster, then the message rules again (the run may have moved on while
 * the signature was checked). Returns the payload with `by` as rostered.
 */
async function signatureRefusal<P extends { by: string }>(r: RolloutRun, kind: SignedKind, p: P, refusal: Refusal): Promise<{ why?: string; p: P }> {
  const unsigned = rules.refuseUnsigned(p);
  if (unsigned) return { why: unsigned, p };
  const verdict = await verifySignoff({ kind, release: r.st.release, workflowId: r.st.workflowId, payload: p as unknown as Record<string, unknown> });
  const signedP = rules.signedBy(p, verdict);
  return { why: rules.refuseSigner(r, kind, p, verdict) ?? refusal(r, signedP), p: signedP };
}

function handleMessages(r: RolloutRun): void {
  // Signed messages take effect in the order they arrived (approvals, then the GO sent after them),
  // although each one waits for its signature check.
  let queue: Promise<unknown> = Promise.resolve();
  const inOrder = <T>(fn: () => Promise<T>): Promise<T> => {
    if (!r.signed) return fn(); // histories before signed sign-offs: effects at once, as recorded
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const validator = (refusal: Refusal) => (p: unknown) => {
    const why = refusal(r, p);
    if (why) throw new Error(why);
  };
  const signal =
    <P extends { by: string }>(kind: SignedKind, refusal: Refusal, accept: (r: RolloutRun, p: P, at: number) => unknown) =>
    (p: P) =>
      inOrder(async () => {
        let why = refusal(r, p);
        if (!why && r.signed) ({ why, p } = await signatureRefusal(r, kind, p, refusal));
        if (why) rules.refuse(r, kind, why, nowMs());
        else accept(r, p, nowMs());
        showDetails(r);
      });
  const update =
    <P extends { by: string }, T>(kind: SignedKind, refusal: Refusal, accept: (r: RolloutRun, p: P, at: number) => T) =>
    (p: P): Promise<T> =>
      inOrder(async () => {
        // The validator has run the message rules; a refused signature is recorded and answered.
        if (r.signed) {
          const checked = await signatureRefusal(r, kind, p, refusal);
          if (checked.why) {
            rules.refuse(r, kind, checked.why, nowMs());
            showDetails(r);
            throw ApplicationFailure.nonRetryable(checked.why, 'SignoffRefused');
          }
          p = checked.p;
        }
        const out = accept(r, p, nowMs());
        showDetails(r);
        return out;
      });
  setHandler(statusQuery, () => r.st);
  setHandler(approveUpdate, update('approve', rules.refuseApprove, rules.approve), { validator: validator(rules.refuseApprove) });
  setHandler(goUpdate, update('go', rules.refuseGo, rules.go), { validator: validator(rules.refuseGo) });
  setHandler(noGoUpdate, update('noGo', rules.refuseNoGo, rules.noGo), { validator: validator(rules.refuseNoGo) });
  setHandler(
    rollbackUpdate,
    async (p) => {
      await update('rollback', rules.refuseRollback, rules.requestRollback)(p);
      // Answer once every environment is restored, so the caller sees the rollback done.
      await condition(() => r.st.rollback?.completedAt !== undefined || r.st.state === 'failed');
      return `rolled back ${r.st.release}: restored ${r.st.rollback?.restored.join(', ') || 'nothing (no environment was changed yet)'} in ${r.st.rollback?.durationMs ?? '?'} ms`;
    },
    { validator: validator(rules.refuseRollback) },
  );
  setHandler(approveSignal, signal('approve', rules.refuseApprove, rules.approve));
  setHandler(goSignal, signal('go', rules.refuseGo, rules.go));
  setHandler(noGoSignal, signal('noGo', rules.refuseNoGo, rules.noGo));
  setHandler(rollbackSignal, signal('rollback', rules.refuseRollback, rules.requestRollback));
  setHandler(confirmUpdate, update('confirm', rules.refuseConfirm, rules.confirm), { validator: validator(rules.refuseConfirm) });
  setHandler(confirmSignal, signal('confirm', rules.refuseConfirm, rules.confirm));
  setHandler(promoteUpdate, update('promote', rules.refusePromote, rules.promote), { validator: validator(rules.refusePromote) });
  setHandler(promoteSignal, signal('promote', rules.refusePromote, rules.promote));
}

// ---- steps -----------------------------------------------------------------------------------------

function log(r: RolloutRun, event: string, detail?: string): void {
  rules.logEvent(r.st, nowMs(), event, detail);
  showDetails(r);
}

/** The Web UI's "current details": stage, gates with values, missing sign-offs, deadline. */
function showDetails(r: RolloutRun): void {
  setCurrentDetails(rolloutDetails(r.st));
}

function setStage(r: RolloutRun, stage: RolloutStage, state: RolloutState = r.st.state): void {
  r.st.stage = stage;
  r.st.state = state;
  upsertSearchAttributes([
    { key: STAGE, value: stage },
    { key: STATUS, value: state },
  ]);
  log(r, `stage ${stage}`, state !== 'running' ? state : undefined);
}

function memo(st: RolloutStatus): void {
  upsertMemo({ plan: st.plan ?? null, description: st.description, author: st.author, state: st.state, changes: st.changes.requested });
}

/** Snapshot, apply and push the compensation; once started, an apply finishes even if a rollback arrives. */
async function applyTo({ r, input, compensations }: Rollout, environment: Environment): Promise<void> {
  setStage(r, environment === 'staging' ? 'apply-staging' : 'apply-production');
  const toApply = rules.changesFor(input, environment);
  const keys = Object.keys(toApply);
  const snapshot = await snapshotConfig({ environment, keys });
  await CancellationScope.nonCancellable(async () => {
    // input.changes was parsed by prepareRollout, so its values are the config's typed values.
    const changes = toApply as Parameters<Activities['applyConfig']>[0]['changes'];
    const applied = await named(`apply ${keys.join(', ')} to ${environment}`).applyConfig({ environment, changes, actor: `rollout:${r.st.release}`, reason: `${r.st.release}: ${r.st.description}` });
    r.st.changes.environments[environment] = {
      snapshot,
      before: Object.fromEntries(applied.map((c) => [c.key, c.old])),
      after: Object.fromEntries(applied.map((c) => [c.key, c.new])),
      appliedAt: iso(),
    };
    compensations.unshift({
      environment,
      run: async () => {
        const restore = { environment, actor: `rollback:${r.abort?.by ?? 'rollout'}`, reason: `rollback of ${r.st.release}: ${r.abort?.reason ?? ''}` };
        // Compare-and-set: a key someone changed after this rollout wrote it is not overwritten.
        if (patched('restore-compare-and-set')) {
          const { conflicts } = await named(`restore ${environment}`).restoreConfig({ ...restore, snapshot, expected: changes });
          if (conflicts.length) {
            recordConflicts(r.st, conflicts, nowMs());
            showDetails(r);
            return false;
          }
        } else await named(`restore ${environment}`).applyConfig({ ...restore, changes: snapshot as typeof changes });
        r.st.changes.environments[environment]!.restoredAt = iso();
        return true;
      },
    });
    log(r, `applied to ${environment}`, keys.map((k) => `${k}=${JSON.stringify(toApply[k])}`).join(', '));
  });
  await recordRollout(r.st);
}

/**
 * A rollback asks its children to cancel and goes on without waiting (rollback stays fast). If the
 * rollout closes before a child has stopped, the child is still cancelled, not terminated, so it
 * marks its run failed instead of leaving it 'running'.
 */
function childCancellation() {
  const cancellationType = ChildWorkflowCancellationType.TRY_CANCEL;
  return patched('children-cancel-on-close') ? { cancellationType, parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL } : { cancellationType };
}

/**
 * One forecastRun child (and in staging, for a prefetch change, a prefetch child after it). A
 * validation cycle of a rollout with a shadow A/B also forecasts the challenger, then compares.
 */
async function forecastCycle(ro: Rollout, environment: Environment, label: string, kind: 'baseline' | 'validation' | 'monitor' = 'monitor'): Promise<void> {
  const { r, input } = ro;
  const id = rolloutCycleId(r.st.workflowId, environment, label);
  log(r, `${label} started`, `forecastRun ${id}`);
  const staticSummary = `${label} of rollout ${r.st.release} (${environment})`;
  // The baseline does the validation cycles' work (the challenger too), so duration gates compare like with like.
  const shadow = kind !== 'monitor' ? input.validation.shadow : undefined;
  const args = { environment, trigger: 'rollout', ...(input.validation.forecast ?? {}), ...(shadow ? { shadow: shadow.challenger } : {}) };
  await executeChild(forecastRun, { workflowId: id, args: [args], ...childCancellation(), staticSummary });
  if (shadow && kind === 'validation') {
    ro.shadowRuns.push(id);
    r.st.shadow = await compareShadowRuns({ environment, runIds: ro.shadowRuns, challenger: shadow.challenger });
    const { champion, challenger } = r.st.shadow.overall;
    log(r, `shadow A/B after ${label}`, `MAPE ${r.st.shadow.champion} ${champion.mape?.toFixed(1)} vs ${shadow.challenger} ${challenger.mape?.toFixed(1)}, outliers ${champion.outlierCount} vs ${challenger.outlierCount}`);
  }
  if (environment === 'staging' && input.validation.prefetch) {
    await executeChild(prefetch, { workflowId: cyclePrefetchId(id), args: [{ environment, trigger: 'rollout' }], ...childCancellation(), staticSummary: `prefetch after ${staticSummary}` });
  }
  log(r, `${label} done`);
}

/** Evaluates the gates over [fromMs, now]; returns why any failed. */
async function checkGates({ r, step }: Rollout, environment: Environment, gates: GateSpec[], fromMs: number, baseline?: { from: number; to: number }) {
  const onCohort = environment === 'production' && step && step.skus !== 'all' ? { name: step.name, skus: step.skus } : undefined;
  const results = await named(`gates ${environment}${onCohort ? ` (cohort ${onCohort.name})` : ''}: ${gates.map((g) => g.gate).join(', ')}`).evaluateRolloutGates({
    release: r.st.release,
    environment,
    gates,
    from: iso(fromMs),
    ...(baseline ? { baselineFrom: iso(baseline.from), baselineTo: iso(baseline.to) } : {}),
    ...(onCohort ? { cohort: onCohort } : {}),
  });
  r.st.gates[environment] = results;
  log(r, `gates ${environment}: ${overallStatus(results)}`, results.map((g) => `${g.gate} ${g.status}`).join(', '));
  return rules.failedGates(results);
}

/**
 * The gates, then for a hybrid rollout the automatic fallback, also when a gate failed: the plan's
 * own rule for the hybrid ("MAPE > 20% -> revert to Prophet-only") names the reversal first.
 */
async function checkAll(ro: Rollout, environment: Environment, gates: GateSpec[], fromMs: number, baseline?: { from: number; to: number }) {
  const failed = await checkGates(ro, environment, gates, fromMs, baseline);
  if (!rules.isHybridRollout(ro.input) || !patched('hybrid-fallback')) return failed;
  return (await fallbackCheck(ro, environment, fromMs)) ? ro.r.abort!.reason : failed;
}

/**
 * Watches an environment for a window (schedule in rules.watchStep): cycles spread evenly over it,
 * gates after each cycle and at every check interval, and once more at the end. Returns why a gate failed.
 */
async function watch(ro: Rollout, environment: Environment, w: WatchPlan, gates: GateSpec[], baseline?: { from: number; to: number }): Promise<string | undefined> {
  // Checks on the plan's grid (6 h, 12 h, ...); histories recorded before checked "an interval after the last check".
  const onGrid = patched('watch-checks-on-grid');
  const pos = rules.startWatch(w);
  for (;;) {
    const step = rules.watchStep(w, pos, nowMs());
    if (step.kind === 'end') return checkAll(ro, environment, gates, w.startMs, baseline);
    if (step.kind === 'sleep') {
      const ms = Math.max(1, step.untilMs - nowMs());
      await sleep(ms, { summary: watchTimerSummary(environment, w, pos, step.untilMs, ms, (i) => rules.cycleDueAt(w, i)) });
      continue;
    }
    if (step.kind === 'cycle') {
      pos.cyclesDone = step.n;
      await forecastCycle(ro, environment, `${environment === 'staging' ? 'validation' : (ro.step?.name ?? 'monitor')}-cycle-${step.n}`, environment === 'staging' ? 'validation' : 'monitor');
    }
    const failed = await checkAll(ro, environment, gates, w.startMs, baseline);
    if (failed) return failed;
    if (onGrid) pos.nextCheckMs = rules.nextCheckAfter(w, pos, nowMs());
    else if (step.kind === 'check') pos.nextCheckMs = nowMs() + w.intervalMs;
  }
}

/** The saga: compensations newest first (production before staging), not cancellable once started. */
async function rollBack({ r, compensations }: Rollout): Promise<void> {
  const a = r.abort!;
  r.st.rollback = { by: a.by, reason: a.reason, automatic: a.automatic, requestedAt: iso(a.at), restored: [] };
  cohorts.rollBackSteps(r.st, iso());
  setStage(r, 'rollback');
  await CancellationScope.nonCancellable(async () => {
    for (const c of compensations) {
      if (!(await c.run())) continue;
      if (c.assignments) continue; // logged by itself; the environment counts as restored with its config
      r.st.rollback!.restored.push(c.environment);
      log(r, `restored ${c.environment}`);
    }
  });
  r.st.rollback.completedAt = iso();
  r.st.rollback.durationMs = nowMs() - a.at;
}

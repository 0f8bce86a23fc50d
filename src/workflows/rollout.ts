import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  allHandlersFinished,
  condition,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { overallStatus } from '../rollout/gates';
import type {
  Environment,
  GateResult,
  GateSpec,
  RolloutInput,
  RolloutStage,
  RolloutState,
  RolloutStatus,
} from '../rollout/types';
import {
  approveSignal,
  approveUpdate,
  goSignal,
  goUpdate,
  noGoSignal,
  noGoUpdate,
  rollbackSignal,
  rollbackUpdate,
  statusQuery,
  type ApprovePayload,
  type DecisionPayload,
  type GoPayload,
} from './messages';
import { RELEASE_TAG, STAGE, STATUS } from './search-attributes';

/**
 * The kickoff plan's runbook as one durable workflow: snapshot -> apply to staging -> validation
 * cycles -> gates over the soak window -> sign-offs and GO/NO-GO -> apply to production ->
 * post-deploy prefetch -> monitoring -> release record. Every config change pushes its
 * compensation (restore the snapshot) right after it succeeds; a rollback (signal/update, a failed
 * gate, NO-GO, a failure) cancels the pipeline and runs the compensations in reverse.
 */

const { prepareRollout, recordRollout, evaluateRolloutGates, writeReleaseRecord } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});
// Config reads and writes are small transactions: short timeouts and fast retries keep a rollback in seconds.
const { snapshotConfig, applyConfig } = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/** The workflow clock: Date inside a workflow is replay-safe (it is the workflow task's time). */
const nowMs = () => new Date().getTime();
const iso = (ms: number = nowMs()) => new Date(ms).toISOString();

type AbortKind = 'rollback' | 'gate' | 'no-go' | 'error';
interface Abort {
  kind: AbortKind;
  by: string;
  reason: string;
  automatic: boolean;
  at: number;
}

const STAGES_BEFORE_PRODUCTION: RolloutStage[] = ['prepare', 'baseline', 'apply-staging', 'validate', 'soak', 'approval'];
const TERMINAL: RolloutState[] = ['completed', 'rolled-back', 'no-go', 'failed'];

const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
const isObject = (p: unknown): p is Record<string, unknown> => typeof p === 'object' && p !== null && !Array.isArray(p);

export async function rollout(raw: RolloutInput): Promise<RolloutStatus> {
  const { workflowId } = workflowInfo();
  let input = raw;
  const st: RolloutStatus = {
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
    deadlines: {},
    rejected: [],
    timeline: [],
  };
  const log = (event: string, detail?: string) => st.timeline.push({ at: iso(), event, ...(detail ? { detail } : {}) });
  let abort: Abort | undefined;
  let goDecided = false;
  /** Saga: newest first, so running them in order undoes production before staging. */
  const compensations: { environment: Environment; run: () => Promise<void> }[] = [];

  const setStage = (stage: RolloutStage, state: RolloutState = st.state) => {
    st.stage = stage;
    st.state = state;
    upsertSearchAttributes([
      { key: STAGE, value: stage },
      { key: STATUS, value: state },
    ]);
    log(`stage ${stage}`, state !== 'running' ? state : undefined);
  };

  // ---- messages: validation is shared by the Update validators and the Signal handlers ----------

  const finishing = () =>
    abort ? `the rollout is already ending (${abort.kind} by ${abort.by}: ${abort.reason})` : TERMINAL.includes(st.state) ? `the rollout is ${st.state}` : undefined;

  const checkDecision = (p: unknown): string | undefined => {
    if (!isObject(p)) return 'payload must be a JSON object {"by": "...", "reason": "..."}';
    if (!str(p.by)) return '"by" (who decides) is required';
    if (!str(p.reason)) return '"reason" is required';
    return undefined;
  };
  const checkApprove = (p: unknown): string | undefined => {
    if (!isObject(p)) return 'payload must be a JSON object {"role": "...", "by": "...", "comment": "..."}';
    const role = str(p.role);
    const by = str(p.by);
    if (!role) return `"role" is required (one of: ${st.approvals.required.join(', ')})`;
    if (!by) return '"by" (who approves) is required';
    if (p.comment !== undefined && typeof p.comment !== 'string') return '"comment" must be a string';
    if (!st.approvals.required.includes(role)) return `unknown sign-off role "${role}" (required: ${st.approvals.required.join(', ')})`;
    if (by.toLowerCase() === st.author.toLowerCase()) return `${by} is the author of ${st.release} and may not approve it`;
    const same = st.approvals.received.find((a) => a.role === role);
    if (same) return `${role} already signed off by ${same.by}`;
    const twice = st.approvals.received.find((a) => a.by.toLowerCase() === by.toLowerCase());
    if (twice) return `${by} already signed off as ${twice.role}; each role needs its own approver`;
    if (goDecided) return 'the GO decision has already been made';
    return finishing();
  };
  const inconclusiveGates = () => (st.gates.staging ?? []).filter((g) => g.status === 'inconclusive');
  const checkGo = (p: unknown): string | undefined => {
    const bad = checkDecision(p) ?? finishing();
    if (bad) return bad;
    if (goDecided) return 'GO has already been given';
    if (st.stage !== 'approval') return `GO is possible once the staging soak has passed its gates (stage now: ${st.stage})`;
    if (st.approvals.missing.length) return `sign-offs missing: ${st.approvals.missing.join(', ')}`;
    const open = inconclusiveGates();
    if (open.length && (p as GoPayload).acceptInconclusive !== true) {
      return `gates inconclusive: ${open.map((g) => `${g.gate} (${g.detail})`).join('; ')}; send GO with "acceptInconclusive": true to accept them`;
    }
    return undefined;
  };
  const checkNoGo = (p: unknown): string | undefined => {
    const bad = checkDecision(p) ?? finishing();
    if (bad) return bad;
    if (goDecided || !STAGES_BEFORE_PRODUCTION.includes(st.stage)) return 'already promoted (GO given): use rollback';
    return undefined;
  };
  const checkRollback = (p: unknown): string | undefined => checkDecision(p) ?? finishing();

  const doApprove = (p: ApprovePayload) => {
    const a = { role: str(p.role), by: str(p.by), ...(p.comment ? { comment: p.comment } : {}), at: iso() };
    st.approvals.received.push(a);
    st.approvals.missing = st.approvals.required.filter((r) => !st.approvals.received.some((x) => x.role === r));
    log('approved', `${a.role} by ${a.by}${a.comment ? `: ${a.comment}` : ''}`);
    return `${a.role} signed off by ${a.by}; ${st.approvals.missing.length ? `missing: ${st.approvals.missing.join(', ')}` : 'all sign-offs in'}`;
  };
  const doGo = (p: GoPayload) => {
    const accepted = inconclusiveGates().map((g) => g.gate);
    st.decision = { kind: 'go', by: str(p.by), reason: str(p.reason), at: iso(), ...(accepted.length ? { acceptedInconclusive: accepted } : {}) };
    goDecided = true;
    log('GO', `${st.decision.by}: ${st.decision.reason}${accepted.length ? ` (accepting inconclusive: ${accepted.join(', ')})` : ''}`);
    return `GO recorded by ${st.decision.by}; promoting ${st.release} to production`;
  };
  const doNoGo = (p: DecisionPayload) => {
    st.decision = { kind: 'no-go', by: str(p.by), reason: str(p.reason), at: iso() };
    abort = { kind: 'no-go', by: str(p.by), reason: str(p.reason), automatic: false, at: nowMs() };
    log('NO-GO', `${str(p.by)}: ${str(p.reason)}`);
    return `NO-GO recorded by ${str(p.by)}; restoring staging`;
  };
  const doRollback = (p: DecisionPayload) => {
    abort = { kind: 'rollback', by: str(p.by), reason: str(p.reason), automatic: false, at: nowMs() };
    log('rollback requested', `${str(p.by)}: ${str(p.reason)}`);
  };

  const refuse = (message: string, reason: string) => {
    st.rejected.push({ at: iso(), message, reason });
    log(`refused ${message}`, reason);
  };
  const validator = (check: (p: unknown) => string | undefined) => (p: unknown) => {
    const why = check(p);
    if (why) throw new Error(why);
  };

  setHandler(statusQuery, () => st);
  setHandler(approveUpdate, doApprove, { validator: validator(checkApprove) });
  setHandler(goUpdate, doGo, { validator: validator(checkGo) });
  setHandler(noGoUpdate, doNoGo, { validator: validator(checkNoGo) });
  setHandler(
    rollbackUpdate,
    async (p) => {
      doRollback(p);
      // Answer once every environment is restored, so the caller sees the rollback done.
      await condition(() => st.rollback?.completedAt !== undefined || st.state === 'failed');
      return `rolled back ${st.release}: restored ${st.rollback?.restored.join(', ') || 'nothing (no environment was changed yet)'} in ${st.rollback?.durationMs ?? '?'} ms`;
    },
    { validator: validator(checkRollback) },
  );
  const signalHandler =
    <P>(name: string, check: (p: unknown) => string | undefined, run: (p: P) => unknown) =>
    (p: P) => {
      const why = check(p);
      if (why) refuse(name, why);
      else run(p);
    };
  setHandler(approveSignal, signalHandler('approve', checkApprove, doApprove));
  setHandler(goSignal, signalHandler('go', checkGo, doGo));
  setHandler(noGoSignal, signalHandler('noGo', checkNoGo, doNoGo));
  setHandler(rollbackSignal, signalHandler('rollback', checkRollback, doRollback));

  // ---- steps ----------------------------------------------------------------------------------

  const memo = () => upsertMemo({ plan: st.plan ?? null, description: st.description, author: st.author, state: st.state, changes: st.changes.requested });
  const record = () => recordRollout(st);

  const applyTo = async (environment: Environment) => {
    setStage(environment === 'staging' ? 'apply-staging' : 'apply-production');
    const keys = Object.keys(input.changes);
    const snapshot = await snapshotConfig({ environment, keys });
    // Once started, an apply finishes and pushes its compensation even if a rollback arrives meanwhile.
    await CancellationScope.nonCancellable(async () => {
      // input.changes was parsed by prepareRollout, so its values are the config's typed values.
      const changes = input.changes as Parameters<typeof applyConfig>[0]['changes'];
      const applied = await applyConfig({ environment, changes, actor: `rollout:${st.release}`, reason: `${st.release}: ${st.description}` });
      st.changes.environments[environment] = {
        snapshot,
        before: Object.fromEntries(applied.map((c) => [c.key, c.old])),
        after: Object.fromEntries(applied.map((c) => [c.key, c.new])),
        appliedAt: iso(),
      };
      compensations.unshift({
        environment,
        run: async () => {
          await applyConfig({ environment, changes: snapshot as typeof changes, actor: `rollback:${abort?.by ?? 'rollout'}`, reason: `rollback of ${st.release}: ${abort?.reason ?? ''}` });
          st.changes.environments[environment]!.restoredAt = iso();
        },
      });
      log(`applied to ${environment}`, keys.map((k) => `${k}=${JSON.stringify(input.changes[k])}`).join(', '));
    });
    await record();
  };

  const forecastCycle = async (environment: Environment, label: string) => {
    const id = `${workflowId}-${environment}-${label}`;
    log(`${label} started`, `forecastRun ${id}`);
    await executeChild('forecastRun', {
      workflowId: id,
      args: [{ environment, trigger: 'rollout', ...(input.validation.forecast ?? {}) }],
      cancellationType: ChildWorkflowCancellationType.TRY_CANCEL,
    });
    if (environment === 'staging' && input.validation.prefetch) {
      await executeChild('prefetch', {
        workflowId: `${id}-prefetch`,
        args: [{ environment, trigger: 'rollout' }],
        cancellationType: ChildWorkflowCancellationType.TRY_CANCEL,
      });
    }
    log(`${label} done`);
  };

  const checkGates = async (environment: Environment, gates: GateSpec[], fromMs: number, baseline?: { from: number; to: number }) => {
    const results: GateResult[] = await evaluateRolloutGates({
      release: st.release,
      environment,
      gates,
      from: iso(fromMs),
      ...(baseline ? { baselineFrom: iso(baseline.from), baselineTo: iso(baseline.to) } : {}),
    });
    st.gates[environment] = results;
    const failed = results.filter((r) => r.status === 'fail');
    log(`gates ${environment}: ${overallStatus(results)}`, results.map((r) => `${r.gate} ${r.status}`).join(', '));
    return failed.length ? `${failed.map((r) => `${r.gate}: ${r.detail}`).join('; ')}` : undefined;
  };

  /**
   * Watches an environment for a window: forecast cycles spread evenly over it, gates evaluated
   * after each cycle and at every check interval, and once more at the end. Returns why a gate failed.
   */
  const watch = async (
    environment: Environment,
    o: { startMs: number; windowMs: number; cycles: number; intervalMs: number; gates: GateSpec[]; baseline?: { from: number; to: number } },
  ): Promise<string | undefined> => {
    const end = o.startMs + o.windowMs;
    const cycleAt = (i: number) => o.startMs + Math.floor((i * o.windowMs) / Math.max(o.cycles, 1));
    let done = 0;
    let nextCheck = o.startMs + o.intervalMs;
    for (;;) {
      const t = nowMs();
      if (done < o.cycles && t >= cycleAt(done)) {
        await forecastCycle(environment, `${environment === 'staging' ? 'validation' : 'monitor'}-cycle-${++done}`);
        const failed = await checkGates(environment, o.gates, o.startMs, o.baseline);
        if (failed) return failed;
        continue;
      }
      if (done >= o.cycles && t >= end) break;
      if (t >= nextCheck) {
        const failed = await checkGates(environment, o.gates, o.startMs, o.baseline);
        if (failed) return failed;
        nextCheck = nowMs() + o.intervalMs;
        continue;
      }
      await sleep(Math.max(1, Math.min(done < o.cycles ? cycleAt(done) : end, nextCheck, end) - t));
    }
    return checkGates(environment, o.gates, o.startMs, o.baseline);
  };

  const gateFailure = (environment: Environment, why: string) => {
    abort = { kind: 'gate', by: 'rollout', reason: `gate failed in ${environment}: ${why}`, automatic: true, at: nowMs() };
  };

  /** The runbook; returns normally when released, or after setting `abort` to stop. */
  const pipeline = async (): Promise<void> => {
    input = await prepareRollout({ input: raw, workflowId });
    upsertSearchAttributes([{ key: RELEASE_TAG, value: input.release }]);
    memo();
    const startedMs = nowMs();
    const needsBaseline = input.gates.some((g) => g.baselineFactor !== undefined);
    if (needsBaseline && input.validation.baselineCycles > 0) {
      setStage('baseline');
      for (let i = 1; i <= input.validation.baselineCycles; i++) await forecastCycle('staging', `baseline-cycle-${i}`);
    }

    await applyTo('staging');
    const stagingStart = nowMs();
    st.deadlines.soakEndsAt = iso(stagingStart + input.validation.soakMs);
    setStage('validate');
    const stagingFailed = await watch('staging', {
      startMs: stagingStart,
      windowMs: input.validation.soakMs,
      cycles: input.validation.cycles,
      intervalMs: input.validation.checkIntervalMs,
      gates: input.gates,
      baseline: { from: startedMs, to: stagingStart },
    });
    if (stagingFailed) return gateFailure('staging', stagingFailed);

    st.deadlines.approvalDeadline = iso(nowMs() + input.approvalTimeoutMs);
    setStage('approval', 'awaiting-approval');
    await record();
    if (!(await condition(() => goDecided, input.approvalTimeoutMs))) {
      const reason = `no GO within the approval timeout (${input.approvalTimeoutMs} ms); missing sign-offs: ${st.approvals.missing.join(', ') || 'none'}`;
      doNoGo({ by: 'system', reason });
      return;
    }
    st.state = 'running';

    await applyTo('production');
    const productionStart = nowMs();
    let prefetchChild: ChildWorkflowHandle<(a: unknown) => Promise<unknown>> | undefined;
    if (input.monitor.postDeployPrefetch) {
      prefetchChild = await startChild('postDeployPrefetch', {
        workflowId: `${workflowId}-post-deploy-prefetch`,
        args: [{ environment: 'production', deployId: `rollout-${st.release}` }],
        cancellationType: ChildWorkflowCancellationType.TRY_CANCEL,
      });
      log('post-deploy prefetch started', prefetchChild.workflowId);
    }
    st.deadlines.monitorEndsAt = iso(productionStart + input.monitor.windowMs);
    setStage('monitor');
    const productionFailed = await watch('production', {
      startMs: productionStart,
      windowMs: input.monitor.windowMs,
      cycles: input.monitor.cycles,
      intervalMs: input.monitor.checkIntervalMs,
      gates: input.productionGates ?? input.gates,
    });
    if (productionFailed) return gateFailure('production', productionFailed);
    if (prefetchChild) {
      await prefetchChild.result();
      log('post-deploy prefetch done');
    }
  };

  const rollBack = async () => {
    const a = abort!;
    const requestedAt = a.at;
    st.rollback = { by: a.by, reason: a.reason, automatic: a.automatic, requestedAt: iso(requestedAt), restored: [] };
    setStage('rollback');
    await CancellationScope.nonCancellable(async () => {
      for (const c of compensations) {
        await c.run();
        st.rollback!.restored.push(c.environment);
        log(`restored ${c.environment}`);
      }
    });
    st.rollback.completedAt = iso();
    st.rollback.durationMs = nowMs() - requestedAt;
  };

  // ---- run --------------------------------------------------------------------------------------

  const scope = new CancellationScope();
  let error: unknown;
  let finished = false;
  const run = scope.run(pipeline).then(
    () => void (finished = true),
    (err) => void (error = err),
  );
  await Promise.race([run, condition(() => abort !== undefined)]);
  if (!finished && error === undefined && abort) {
    scope.cancel();
    await run;
    if (isCancellation(error)) error = undefined;
  }

  if (error !== undefined && !abort) {
    const message = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
    st.error = message;
    if (!compensations.length && st.stage === 'prepare') {
      // Bad input: nothing was applied; fail the execution with the reason.
      setStage('done', 'failed');
      throw ApplicationFailure.nonRetryable(`rollout ${st.release} refused: ${message}`, 'RolloutInputError');
    }
    abort = { kind: 'error', by: 'rollout', reason: `step failed: ${message}`, automatic: true, at: nowMs() };
  }

  if (abort) {
    await rollBack();
    setStage('rollback', abort.kind === 'no-go' ? 'no-go' : abort.kind === 'error' ? 'failed' : 'rolled-back');
  } else {
    setStage('release', 'completed');
  }
  memo();
  await writeReleaseRecord(st);
  await record();
  setStage('done');
  await condition(allHandlersFinished);
  if (st.state === 'failed') throw ApplicationFailure.nonRetryable(`rollout ${st.release} failed and was rolled back: ${st.error}`, 'RolloutFailed');
  return st;
}

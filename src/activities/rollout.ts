import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { claimKeys, KeyClaimedError, releaseClaims, type ClaimOwner } from '../db/claims';
import { accuracyOf, gateResultsFor, insertGateResults, insertRollout, latestRunMape, loadGateData, saveRelease, updateRollout } from '../db/rollouts';
import { assignForRollout, restoreRolloutAssignments } from '../db/model-assignments';
import { latestAccuracyRun, runSkuMape } from '../db/forecasts';
import { COHORT_GATES, emptyCohortNote, selectCohort } from '../rollout/cohorts';
import { findApprover, findRemovedApprover, rolesWithoutHolder, type Approver } from '../db/approvers';
import { cohortGateData, evaluateGates, flaggedOutliers } from '../rollout/gates';
import { parseRolloutInput, RolloutInputError } from '../rollout/input';
import { renderChangelogEntry, renderPostDeploymentReport } from '../rollout/report';
import { verifySignature } from '../rollout/keys';
import { SIGNED_KINDS, type SignedKind } from '../rollout/signoff';
import type { CohortStepSpec, Environment, GateResult, GateSpec, RolloutInput, RolloutStatus, SignerVerdict } from '../rollout/types';
import { stabilityFor } from '../db/ops';
import { appMetrics, rollbackReason } from '../ops/metrics';
import { getEnvironmentConfig } from '../db/config-store';
import { realisedRows, shadowRows } from '../db/shadow';
import { compareShadow, type ShadowComparison } from '../rollout/shadow';
import type { ActivityDeps } from './deps';
import { BadInputError } from './errors';

/**
 * Whether a claim's workflow still runs, asked of Temporal: a claim left by a terminated or
 * timed-out workflow is stale. Used by the activities (the worker's client) and the CLI.
 */
export async function isWorkflowRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** In an activity: without the worker's client every claim counts as live. */
const workflowStillRunning = (workflowId: string) => {
  const client = Context.current().client;
  return client ? isWorkflowRunning(client, workflowId) : Promise.resolve(true);
};

/** Claims the keys of a rollout or revert (src/db/claims.ts); a live owner refuses it as bad input, naming the owner. */
export async function claimReleaseKeys(pool: ActivityDeps['pool'], owner: ClaimOwner, environments: string[], keys: string[]): Promise<void> {
  try {
    const { tookOver } = await claimKeys(pool, owner, environments, keys, workflowStillRunning);
    for (const c of tookOver) log.warn(`took over the stale claim of ${c.key} in ${c.environment} from ${c.kind} ${c.release} (workflow ${c.workflowId} is no longer running)`);
  } catch (err) {
    if (err instanceof KeyClaimedError) throw new BadInputError(err.message);
    throw err;
  }
}

/** Where a verification looks people up: the PostgreSQL roster, or an in-memory one in workflow tests. */
export interface RosterLookup {
  active(name: string): Promise<Approver | undefined>;
  removed(name: string): Promise<Approver | undefined>;
}

export const pgRoster = (pool: ActivityDeps['pool']): RosterLookup => ({ active: (n) => findApprover(pool, n), removed: (n) => findRemovedApprover(pool, n) });

/** The verdict on one signed message: who signed it (as rostered, with roles), or why it does not count. */
export async function verifyAgainstRoster(
  roster: RosterLookup,
  a: { kind: SignedKind; release: string; workflowId: string; payload: Record<string, unknown> },
): Promise<SignerVerdict> {
  if (!SIGNED_KINDS.includes(a.kind)) return { ok: false, reason: `unknown message kind ${String(a.kind)}` };
  const by = typeof a.payload?.by === 'string' ? a.payload.by : '';
  const approver = by ? await roster.active(by) : undefined;
  if (!approver) {
    const removed = by ? await roster.removed(by) : undefined;
    if (removed) return { ok: false, reason: `${removed.name} was removed from the approvers roster (${removed.removedAt} by ${removed.removedBy}); their signature no longer counts` };
    return { ok: false, reason: `${by.slice(0, 60) || '(no name)'} is not on the approvers roster` };
  }
  if (!verifySignature({ kind: a.kind, release: a.release, workflowId: a.workflowId }, a.payload, approver.publicKey)) {
    return { ok: false, reason: `bad signature: it does not verify against the key rostered for ${approver.name} (forged, made with another key, or over other content)` };
  }
  return { ok: true, name: approver.name, roles: approver.roles };
}

export function createRolloutActivities({ pool }: ActivityDeps) {
  return {
    /** Validates the whole input (every config value) before anything is applied, and records the rollout. */
    async prepareRollout({ input, workflowId }: { input: unknown; workflowId: string }): Promise<RolloutInput> {
      let parsed: RolloutInput;
      try {
        parsed = parseRolloutInput(input);
      } catch (err) {
        if (err instanceof RolloutInputError) throw new BadInputError(err.message);
        throw err;
      }
      // Every sign-off needs someone who can sign it: refuse to start rather than wait for a role nobody holds.
      const unheld = await rolesWithoutHolder(pool, parsed.signOffs);
      if (unheld.length) {
        throw new BadInputError(
          `no active approver holds the sign-off role${unheld.length > 1 ? 's' : ''} ${unheld.join(', ')}; add one with neuro approvers add --name NAME --role ${unheld[0]} --key-out FILE`,
        );
      }
      // One release at a time per (environment, key): refused here, before anything is applied.
      await claimReleaseKeys(pool, { release: parsed.release, workflowId, kind: 'rollout' }, parsed.stages, Object.keys(parsed.changes));
      await insertRollout(pool, { ...parsed, workflowId });
      return parsed;
    },

    /** Gives the keys back when a rollout or revert ends, however it ends. */
    async releaseKeyClaims(workflowId: string): Promise<number> {
      return releaseClaims(pool, workflowId);
    },

    /**
     * Checks a sign-off's signature against the live roster (a removed approver is refused at once).
     * Answers a verdict rather than failing: a refusal is an answer, recorded by the workflow.
     */
    async verifySignoff(a: { kind: SignedKind; release: string; workflowId: string; payload: Record<string, unknown> }): Promise<SignerVerdict> {
      return verifyAgainstRoster(pgRoster(pool), a);
    },

    async recordRollout(status: RolloutStatus): Promise<void> {
      await updateRollout(pool, status);
    },

    /**
     * Measures the gates over [from, now] in one environment, stores and returns the verdicts. With
     * a cohort (a cohort step), the outlier gates are also measured on the cohort's SKUs alone.
     */
    async evaluateRolloutGates(a: {
      release: string;
      environment: Environment;
      gates: GateSpec[];
      from: string;
      baselineFrom?: string;
      baselineTo?: string;
      cohort?: { name: string; skus: string[] };
    }): Promise<GateResult[]> {
      const to = new Date().toISOString();
      const data = await loadGateData(pool, { ...a, to }, flaggedOutliers);
      if (a.gates.some((g) => g.gate === 'stability-score' || g.gate === 'incidents')) {
        const s = await stabilityFor(pool, a.environment, { from: new Date(a.from), to: new Date(to), label: 'gate window' });
        data.stability = { score: s.score, incidents: s.incidents.length, events: s.components.reduce((n, c) => n + c.total, 0) };
      }
      const window = { start: a.from, end: to };
      const results = evaluateGates(a.gates, data, a.environment, window);
      if (a.cohort) {
        const { name, skus } = a.cohort;
        const threshold = (await getEnvironmentConfig(pool, a.environment)).OUTLIER_MAPE_THRESHOLD;
        const rows = await accuracyOf(pool, a.environment, data.runs.map((r) => r.id), skus);
        const gates = a.gates.filter((g) => COHORT_GATES.includes(g.gate));
        const onCohort = evaluateGates(gates, cohortGateData(data, rows, threshold), a.environment, window);
        results.unshift(...onCohort.map((g) => ({ ...g, cohort: name, detail: `cohort ${name} (${skus.length} SKUs): ${g.detail}` })));
      }
      await insertGateResults(pool, a.release, results);
      for (const g of results) {
        appMetrics.gateResults.inc({ environment: g.environment, gate: g.gate, status: g.status });
        if (g.measured !== null) appMetrics.gateMeasured.set({ environment: g.environment, gate: g.gate }, g.measured);
      }
      return results;
    },

    /**
     * The shadow A/B so far: champion (what served each SKU) vs challenger over these cycles'
     * backtests, and their realised errors where actuals for the forecast dates have arrived.
     */
    async compareShadowRuns(a: { environment: Environment; runIds: string[]; challenger: string }): Promise<ShadowComparison> {
      const cfg = await getEnvironmentConfig(pool, a.environment);
      const champion = cfg.ENABLE_HYBRID_FORECASTING ? cfg.SELECTION_POLICY : 'Prophet (hybrid off)';
      const [rows, realised] = await Promise.all([shadowRows(pool, a.environment, a.runIds), realisedRows(pool, a.environment, a.runIds)]);
      return compareShadow(rows, { champion, challenger: a.challenger, cycles: a.runIds.length, outlierThreshold: cfg.OUTLIER_MAPE_THRESHOLD, realised });
    },

    /**
     * The automatic fallback's check: the hybrid's overall MAPE (given: the shadow challenger's; else
     * the latest completed run's in the environment since `from`) against the environment's
     * HYBRID_FALLBACK_MAPE. A breach is counted in neuro_hybrid_fallbacks_total.
     */
    async hybridFallbackCheck(a: { environment: Environment; from: string; measured?: number | null }) {
      const threshold = (await getEnvironmentConfig(pool, a.environment)).HYBRID_FALLBACK_MAPE;
      const run = a.measured === undefined ? await latestRunMape(pool, a.environment, a.from) : undefined;
      const measured = a.measured === undefined ? (run?.mape ?? null) : a.measured;
      const breach = measured !== null && measured > threshold;
      if (breach) appMetrics.hybridFallbacks.inc({ environment: a.environment });
      return { measured, threshold, runId: run?.runId ?? null, breach };
    },

    /**
     * A cohort step's SKUs, chosen from the reference backtest: the environment's latest one when
     * none is given yet (the first step fixes it for the others, so later runs cannot reshuffle).
     */
    async chooseCohort(a: { environment: Environment; step: CohortStepSpec; earlier: string[]; reference?: { runId: string | null; threshold: number } }) {
      const reference = a.reference ?? {
        runId: (await latestAccuracyRun(pool, a.environment)) ?? null,
        threshold: (await getEnvironmentConfig(pool, a.environment)).OUTLIER_MAPE_THRESHOLD,
      };
      const ranked = reference.runId ? await runSkuMape(pool, a.environment, reference.runId) : [];
      const skus = selectCohort(a.step, ranked, reference.threshold, a.earlier);
      return { skus, reference, ...(skus !== 'all' && !skus.length ? { note: emptyCohortNote(a.step, reference.runId, reference.threshold) } : {}) };
    },

    /** Assigns a cohort's SKUs for a rollout (snapshot first; see assignForRollout). */
    async assignCohort(a: { workflowId: string; release: string; environment: Environment; cohort: string; serves: string; skus: string[] }) {
      return assignForRollout(pool, { ...a, by: `rollout:${a.release}`, reason: `${a.release}: cohort ${a.cohort}` });
    },

    /** Puts back the assignments a rollout replaced, where they still hold what it wrote. */
    async restoreCohortAssignments(a: { workflowId: string; release: string; environment: Environment; by: string; reason: string }) {
      return restoreRolloutAssignments(pool, a);
    },

    /** The release record: CHANGELOG_ops entry and POST_DEPLOYMENT_REPORT, kept in PostgreSQL. */
    async writeReleaseRecord(status: RolloutStatus): Promise<{ evaluations: number }> {
      if (status.rollback?.completedAt) appMetrics.rollbacks.inc({ reason: rollbackReason(status.rollback) });
      await saveRelease(pool, {
        release: status.release,
        tag: status.release,
        status: status.state,
        changelog: renderChangelogEntry(status),
        report: renderPostDeploymentReport(status),
      });
      return { evaluations: (await gateResultsFor(pool, status.release)).length };
    },
  };
}

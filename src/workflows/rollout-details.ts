import type { GateOverride, GateResult, RolloutStatus } from '../rollout/types';

/**
 * What the Temporal Web UI shows as a rollout's current details (setCurrentDetails): the stage, the
 * latest gates with their values, the missing sign-offs and the next deadline, in Temporal's
 * single-paragraph markdown. Pure, so the workflow can call it after every event.
 */

const MARK: Record<GateResult['status'], string> = { pass: 'pass', fail: 'FAIL', inconclusive: 'inconclusive' };

// Tolerant of partial results: a details line must never fail the workflow task.
const num = (x: unknown) => (typeof x !== 'number' || !Number.isFinite(x) ? '?' : Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) >= 100 ? 0 : 2));

export function gateLine(g: GateResult): string {
  const unit = g.unit ? ` ${g.unit}` : '';
  const value = typeof g.measured === 'number' ? `${num(g.measured)}${unit}` : 'no value';
  return `${g.gate} ${MARK[g.status] ?? g.status}: ${value} (${g.comparator} ${num(g.threshold)}${unit})`;
}

export function rolloutDetails(st: RolloutStatus): string {
  const lines = [`**${st.release}**: stage **${st.stage}**, ${st.state}`];
  for (const env of ['staging', 'production'] as const) {
    const gates = st.gates[env];
    if (gates?.length) lines.push(`gates ${env}: ${gates.map(gateLine).join('; ')}`);
  }
  if (st.overrides?.length) lines.push(`gate overrides: ${st.overrides.map(overrideLine).join('; ')}`);
  if (st.stage === 'approval' || st.state === 'awaiting-approval') {
    lines.push(st.approvals.missing.length ? `sign-offs missing: ${st.approvals.missing.join(', ')}` : `sign-offs in; waiting for GO`);
  }
  if (st.state === 'awaiting-confirmation' && st.monitorEnd) {
    lines.push(`monitoring ended with gates inconclusive: ${st.monitorEnd.inconclusive.join(', ')}; waiting for **confirm** (by, reason) or rollback`);
  }
  if (st.steps) lines.push(`cohort steps: ${st.steps.map((x) => `${x.name} ${x.state}${Array.isArray(x.skus) && x.skus.length ? ` (${x.skus.length} SKUs)` : ''}`).join(' -> ')}`);
  if (st.state === 'awaiting-promotion') lines.push(`step passed; waiting for a signed **promote** (by, reason) to ${st.steps?.find((x) => x.state === 'awaiting-promotion')?.name ?? 'the next step'}, or rollback`);
  if (st.monitorEnd?.allowedInconclusive.length) lines.push(`inconclusive, allowed by the plan (mustHaveData: false): ${st.monitorEnd.allowedInconclusive.join(', ')}`);
  if (st.confirmation) lines.push(`confirmed by ${st.confirmation.by}: ${st.confirmation.reason} (accepting inconclusive: ${st.confirmation.acceptedInconclusive?.join(', ') || 'none'})`);
  const d = st.deadlines;
  const deadline =
    st.stage === 'soak' || st.stage === 'validate'
      ? d.soakEndsAt && `soak ends ${d.soakEndsAt}`
      : st.stage === 'approval'
        ? d.approvalDeadline && `approval deadline ${d.approvalDeadline}`
        : st.stage === 'monitor'
          ? d.monitorEndsAt && `monitoring ends ${d.monitorEndsAt}`
          : st.stage === 'confirmation'
            ? d.confirmDeadline && `confirm deadline ${d.confirmDeadline} (then rollback)`
            : st.stage === 'promotion'
              ? d.promotionDeadline && `promote deadline ${d.promotionDeadline} (then rollback)`
              : undefined;
  if (deadline) lines.push(deadline);
  if (st.rollback) lines.push(`rollback (${st.rollback.automatic ? 'automatic' : `by ${st.rollback.by}`}): ${st.rollback.reason}`);
  return lines.join('\n\n');
}

/** "mape < 25 (plan: < 20) by ann", or "(added)" for a gate the plan does not have. */
export function overrideLine(o: GateOverride): string {
  return `${o.gate} ${o.comparator} ${num(o.threshold)} (${o.replaced ? `plan: ${o.replaced.comparator} ${num(o.replaced.threshold)}` : 'added'}) by ${o.by}`;
}

/** The name of a watch's durable timer in the Web UI: "soak check 2/4 (6h)", "monitor cycle 1/1 (12h)", "soak end (30s)". */
export function watchTimerSummary(
  environment: 'staging' | 'production',
  w: { startMs: number; windowMs: number; cycles: number; intervalMs: number },
  pos: { cyclesDone: number },
  untilMs: number,
  sleepMs: number,
  cycleDueAt: (i: number) => number,
): string {
  const phase = environment === 'staging' ? 'soak' : 'monitor';
  const end = w.startMs + w.windowMs;
  const what =
    pos.cyclesDone < w.cycles && untilMs === cycleDueAt(pos.cyclesDone)
      ? `cycle ${pos.cyclesDone + 1}/${w.cycles}`
      : untilMs >= end
        ? 'end'
        : `check ${Math.round((untilMs - w.startMs) / w.intervalMs)}/${Math.max(1, Math.ceil(w.windowMs / w.intervalMs))}`;
  return `${phase} ${what} (${duration(sleepMs)})`;
}

/** 300 -> "300 ms", 1500 -> "1.5 s", 120000 -> "2 min", 21600000 -> "6 h". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)} min`;
  return `${+(ms / 3_600_000).toFixed(1)} h`;
}

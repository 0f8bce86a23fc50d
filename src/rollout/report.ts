import { ENVIRONMENTS } from '../config/schema';
import { GATE_METRICS } from './gates';
import { conflictText } from './restore';
import type { ConfigValue, GateOverride, GateResult, RolloutStatus } from './types';

/** Markdown for a finished rollout: a CHANGELOG_ops entry and a POST_DEPLOYMENT_REPORT. Pure. */

const OUTCOME: Record<string, string> = {
  completed: 'released to production',
  'rolled-back': 'rolled back',
  'no-go': 'NO-GO (not promoted)',
  failed: 'failed (rolled back)',
  running: 'in progress',
  'awaiting-approval': 'awaiting approval',
  'awaiting-confirmation': 'awaiting confirmation (production gates inconclusive)',
  'awaiting-promotion': 'awaiting promotion to the next cohort step',
};

const v = (x: ConfigValue | null | undefined) => (x === null || x === undefined ? '(default)' : String(x));
const num = (x: number | null, unit: string) =>
  x === null ? 'n/a' : `${Number.isInteger(x) ? x : x.toFixed(Math.abs(x) >= 100 ? 0 : 2)}${unit === '%' ? '%' : ` ${unit}`}`;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ms = (a?: string, b?: string) => (a && b ? Date.parse(b) - Date.parse(a) : undefined);
const dur = (x?: number) => (x === undefined ? 'n/a' : x < 1000 ? `${x} ms` : x < 120_000 ? `${(x / 1000).toFixed(1)} s` : `${(x / 60_000).toFixed(1)} min`);
const ENVS = ENVIRONMENTS;
const criterion = (o: GateOverride) =>
  `\`${o.gate} ${o.comparator} ${o.threshold}\` (${o.replaced ? `plan: ${o.replaced.comparator} ${o.replaced.threshold}` : 'added, not in the plan'}) set by ${o.by}`;

export function renderChangelogEntry(s: RolloutStatus): string {
  const end = s.timeline.at(-1)?.at ?? '';
  const lines = [`## ${s.release} — ${OUTCOME[s.state] ?? s.state} (${end.slice(0, 10)})`, '', `${s.description}`, ''];
  for (const [key, value] of Object.entries(s.changes.requested)) {
    const before = s.changes.environments.production?.before[key] ?? s.changes.environments.staging?.before[key];
    lines.push(`- \`${key}\`: ${v(before)} -> ${v(value)}${s.state === 'completed' ? '' : ' (reverted)'}`);
  }
  lines.push(`- Author: ${s.author}${s.plan ? `; plan: ${s.plan}` : ''}`);
  if (s.approvals.received.length) lines.push(`- Sign-offs: ${s.approvals.received.map((a) => `${a.role} (${a.by})`).join(', ')}`);
  if (s.overrides?.length) lines.push(`- Gate overrides: ${s.overrides.map(criterion).join('; ')}`);
  if (s.decision) lines.push(`- Decision: ${s.decision.kind.toUpperCase()} by ${s.decision.by} — ${s.decision.reason}`);
  if (s.confirmation) lines.push(`- Confirmed with inconclusive production gates (${s.confirmation.acceptedInconclusive?.join(', ') || 'none'}) by ${s.confirmation.by} — ${s.confirmation.reason}`);
  if (s.rollback) lines.push(`- Rollback: ${s.rollback.automatic ? 'automatic' : `by ${s.rollback.by}`} — ${s.rollback.reason} (${dur(s.rollback.durationMs)})`);
  return `${lines.join('\n')}\n`;
}

function gateTable(results: GateResult[]): string[] {
  if (!results.length) return ['_No gates evaluated._'];
  return [
    '| Gate | Result | Measured | Pass criteria | Samples | Window | Detail |',
    '|------|--------|----------|---------------|---------|--------|--------|',
    ...results.map((g) => {
      const m = GATE_METRICS[g.gate];
      return `| ${m?.label ?? g.gate} | ${g.status === 'pass' ? 'PASS' : g.status === 'fail' ? 'FAIL' : 'INCONCLUSIVE'} | ${num(g.measured, g.unit)} | ${g.comparator} ${num(g.threshold, g.unit)} | ${g.samples} | ${g.windowStart.slice(0, 19)}Z .. ${g.windowEnd.slice(0, 19)}Z | ${cell(g.detail)} |`;
    }),
  ];
}

export function renderPostDeploymentReport(s: RolloutStatus): string {
  const first = s.timeline[0]?.at;
  const last = s.timeline.at(-1)?.at;
  const at = (event: string) => s.timeline.find((t) => t.event === event)?.at;
  const out = [
    `# Post-deployment report — ${s.release}`,
    '',
    `**Outcome:** ${OUTCOME[s.state] ?? s.state}  `,
    `**Description:** ${s.description}  `,
    `**Author:** ${s.author}${s.plan ? `  \n**Plan:** ${s.plan}` : ''}  `,
    `**Workflow:** \`${s.workflowId}\`  `,
    `**Started:** ${first ?? 'n/a'} — **Finished:** ${last ?? 'n/a'} (${dur(ms(first, last))})`,
    '',
    '## Changes',
    '',
    '| Key | Requested | ' + ENVS.map((e) => `${e} before | ${e} after`).join(' | ') + ' |',
    '|-----|-----------|' + ENVS.map(() => '-----|-----').join('|') + '|',
  ];
  for (const [key, value] of Object.entries(s.changes.requested)) {
    const cols = ENVS.map((e) => {
      const c = s.changes.environments[e];
      if (!c) return 'not applied | not applied';
      return `${v(c.before[key])} | ${v(c.after[key])}${c.restoredAt ? ' (restored)' : ''}`;
    });
    out.push(`| \`${key}\` | ${v(value)} | ${cols.join(' | ')} |`);
  }
  out.push('', '## Gates', '');
  if (s.overrides?.length) {
    out.push('Overrides for this rollout (the plan\'s criterion replaced, or a gate added):', '', ...s.overrides.map((o) => `- ${criterion(o)}`), '');
  }
  for (const e of ENVS) {
    const g = s.gates[e];
    if (!g) continue;
    out.push(`### ${e === 'staging' ? 'Staging validation' : 'Production monitoring'}`, '', ...gateTable(g), '');
  }
  if (s.steps) out.push(...stepsSection(s));
  out.push('## Sign-offs and decision', '');
  out.push(`Required: ${s.approvals.required.join(', ') || 'none'}${s.approvals.missing.length ? ` — missing: ${s.approvals.missing.join(', ')}` : ''}`, '');
  for (const a of s.approvals.received) out.push(`- ${a.role}: ${a.by} at ${a.at}${a.comment ? ` — ${a.comment}` : ''}`);
  if (s.decision) {
    out.push(`- **${s.decision.kind.toUpperCase()}** by ${s.decision.by} at ${s.decision.at}: ${s.decision.reason}`);
    if (s.decision.acceptedInconclusive?.length) out.push(`  - accepted inconclusive gates: ${s.decision.acceptedInconclusive.join(', ')}`);
    if (s.decision.allowedInconclusive?.length) out.push(`  - inconclusive, allowed by the plan (mustHaveData: false): ${s.decision.allowedInconclusive.join(', ')}`);
  } else out.push('- No decision recorded.');
  if (s.monitorEnd) {
    const { inconclusive, allowedInconclusive } = s.monitorEnd;
    out.push(`- Production monitoring ended at ${s.monitorEnd.at} with gates inconclusive${inconclusive.length ? `: ${inconclusive.join(', ')} (held for confirmation until ${s.deadlines.confirmDeadline ?? 'n/a'})` : ''}`);
    if (allowedInconclusive.length) out.push(`  - allowed by the plan to end without data (mustHaveData: false): ${allowedInconclusive.join(', ')}`);
  }
  if (s.confirmation) {
    out.push(`- **CONFIRM** by ${s.confirmation.by} at ${s.confirmation.at}: ${s.confirmation.reason}`);
    out.push(`  - accepted inconclusive gates: ${s.confirmation.acceptedInconclusive?.join(', ') || 'none'}`);
  }
  out.push('');
  if (s.rollback) {
    out.push(
      '## Rollback',
      '',
      `- ${s.rollback.automatic ? 'Automatic' : 'Requested'} by ${s.rollback.by} at ${s.rollback.requestedAt}: ${s.rollback.reason}`,
      `- Restored: ${s.rollback.restored.join(', ') || 'nothing (no environment had been changed)'} in ${dur(s.rollback.durationMs)}`,
      // Compare-and-set: keys someone else changed after the release were left as they were.
      ...(s.conflicts ?? []).map((c) => `- Not restored (conflict): ${conflictText(c)}`),
      ...(s.rollback.assignments
        ? [`- Cohort assignments restored: ${s.rollback.assignments.restored} SKUs${s.rollback.assignments.skipped.length ? `; left as changed since: ${s.rollback.assignments.skipped.join(', ')}` : ''}`]
        : []),
      '',
    );
  }
  out.push('## Timings', '');
  const stagingApplied = s.changes.environments.staging?.appliedAt;
  const productionApplied = s.changes.environments.production?.appliedAt;
  out.push(`- Staging applied: ${stagingApplied ?? 'n/a'}`);
  out.push(`- Approval stage reached: ${at('stage approval') ?? 'n/a'}`);
  out.push(`- Production applied: ${productionApplied ?? 'n/a'}`);
  out.push(`- Staging validation + soak: ${dur(ms(stagingApplied, at('stage approval')))}`);
  out.push(`- Decision after approval stage: ${dur(ms(at('stage approval'), s.decision?.at))}`);
  out.push('', '## Timeline', '');
  for (const t of s.timeline) out.push(`- ${t.at} ${t.event}${t.detail ? ` — ${cell(t.detail)}` : ''}`);
  if (s.rejected.length) {
    out.push('', '## Refused messages', '');
    for (const r of s.rejected) out.push(`- ${r.at} ${r.message}: ${r.reason}`);
  }
  return `${out.join('\n')}\n`;
}

/** A cohort rollout's production steps: cohort, state, who promoted, the gates on the cohort. */
function stepsSection(s: RolloutStatus): string[] {
  const ref = s.cohortReference;
  const out = ['## Cohort steps', '', `Cohorts chosen from backtest \`${ref?.runId ?? 'n/a'}\` (outliers: MAPE > ${ref?.threshold ?? 'n/a'}%).`, ''];
  out.push('| Step | SKUs | State | Started | Promoted by | Gates |', '|------|------|-------|---------|-------------|-------|');
  for (const st of s.steps ?? []) {
    const skus = st.skus === 'all' ? 'whole catalogue' : `${st.skus.length}${st.skus.length ? `: ${st.skus.slice(0, 10).join(', ')}${st.skus.length > 10 ? ', ...' : ''}` : ''}`;
    const gates = st.gates.map((g) => `${g.gate}${g.cohort ? ' (cohort)' : ''} ${g.status} ${num(g.measured, g.unit)}`).join('; ');
    const by = st.promotedBy ? `${st.promotedBy.by}${st.promotedBy.automatic ? ' (automatic)' : `: ${st.promotedBy.reason}`}` : '';
    out.push(`| ${st.name} | ${cell(skus)} | ${st.state}${st.note ? ` (${cell(st.note)})` : ''} | ${st.startedAt ?? ''} | ${cell(by)} | ${cell(gates)} |`);
  }
  out.push('');
  return out;
}

/** The whole CHANGELOG_ops.md from entries newest first. */
export function renderChangelog(entries: string[]): string {
  return `# CHANGELOG_ops\n\nOperational changes (configuration releases), newest first.\n\n${entries.join('\n')}`;
}

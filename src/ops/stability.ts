/**
 * The plan's stability score (">= 99.5/100, maintain A+ grade") and its incidents, pure: the
 * repository (src/db/ops.ts) loads what PostgreSQL recorded over a window, this turns it into
 * components, a score and a grade. Formula and inputs are in the README ("Stability score").
 *
 *   score = sum(weight_i * SLI_i) / sum(weight_i over components with data) - 1 point per incident
 *
 * Each SLI is good events / all events, as a percentage. A component without events in the window
 * is left out (its weight goes to the others); with no component at all the score is null.
 */

/** The plan's figures the score is measured against. */
export const STABILITY_POLICY = {
  /** A run is on time under the plan's 120 s ceiling ("30% under 120s threshold"). */
  forecastOnTimeMs: 120_000,
  /** An API query is good when answered within this (the query log's server-side duration). */
  apiLatencySloMs: 50,
  /** A UTC day with fewer good queries than this share breaches the latency SLO (an incident). */
  apiLatencyObjective: 0.99,
  /** P2's pass criterion: the hit-rate component is hit rate / this target, capped at 100. */
  cacheHitTargetPct: 99.5,
  /** P1's pass criterion: a UTC day under this hit rate breaches the SLO (an incident). */
  cacheHitFloorPct: 99,
  /** Days with fewer requests than this are too quiet to breach an SLO. */
  minDayRequests: 100,
  incidentPenalty: 1,
  weights: { 'forecast-runs': 0.4, 'api-latency': 0.2, 'cache-hit-rate': 0.2, gates: 0.2 },
} as const;

export type ComponentName = keyof typeof STABILITY_POLICY.weights;

export interface RunRecord {
  id: string;
  status: string;
  durationMs: number | null;
  /** When it finished or failed. */
  at: string;
  error?: string | null;
}

export interface DayCounts {
  /** YYYY-MM-DD (UTC) */
  day: string;
  good: number;
  total: number;
}

export interface RollbackEvent {
  release: string;
  reason: string;
  at: string;
}

/** What one environment recorded over [from, to). */
export interface StabilityInputs {
  environment: string;
  window: { from: string; to: string; label: string };
  /** Forecast runs that completed or failed in the window. */
  runs: RunRecord[];
  /** Query log: good = answered within apiLatencySloMs, per UTC day. */
  apiDays: DayCounts[];
  /** cache_stats: good = hits, per UTC day. */
  cacheDays: DayCounts[];
  gates: { evaluations: number; failed: number };
  /** Automatic rollbacks that restored this environment in the window. */
  rollbacks: RollbackEvent[];
}

export interface Component {
  name: ComponentName;
  label: string;
  weight: number;
  /** 0..100, null without data. */
  value: number | null;
  good: number;
  total: number;
  detail: string;
}

export type IncidentKind = 'failed-run' | 'automatic-rollback' | 'slo-breach';

export interface Incident {
  kind: IncidentKind;
  at: string;
  what: string;
}

export type Grade = 'A+' | 'A' | 'B' | 'C' | 'D' | 'F' | 'n/a';

export interface StabilityReport {
  environment: string;
  score: number | null;
  grade: Grade;
  window: { from: string; to: string; label: string };
  components: Component[];
  incidents: Incident[];
  /** Points taken off for the incidents. */
  penalty: number;
}

const GRADES: [number, Grade][] = [
  [99.5, 'A+'],
  [99, 'A'],
  [97, 'B'],
  [95, 'C'],
  [90, 'D'],
];

export function grade(score: number | null): Grade {
  if (score === null) return 'n/a';
  return GRADES.find(([min]) => score >= min)?.[1] ?? 'F';
}

const sum = (days: DayCounts[]) => days.reduce((a, d) => ({ good: a.good + d.good, total: a.total + d.total }), { good: 0, total: 0 });
const pct = (good: number, total: number) => (total ? (100 * good) / total : null);
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

/** Failed runs, automatic rollbacks and SLO breaches (late run, a day under the latency objective or the hit floor). */
export function incidents(i: StabilityInputs, p = STABILITY_POLICY): Incident[] {
  const out: Incident[] = [];
  for (const r of i.runs) {
    if (r.status === 'failed') out.push({ kind: 'failed-run', at: r.at, what: `forecast run ${r.id} failed${r.error ? `: ${r.error}` : ''}` });
    else if (r.durationMs !== null && r.durationMs > p.forecastOnTimeMs) {
      out.push({ kind: 'slo-breach', at: r.at, what: `forecast run ${r.id} took ${fmt(r.durationMs / 1000)} s (SLO ${p.forecastOnTimeMs / 1000} s)` });
    }
  }
  for (const r of i.rollbacks) out.push({ kind: 'automatic-rollback', at: r.at, what: `release ${r.release} rolled back automatically: ${r.reason}` });
  for (const d of i.apiDays) {
    if (d.total >= p.minDayRequests && d.good / d.total < p.apiLatencyObjective) {
      out.push({
        kind: 'slo-breach',
        at: `${d.day}T23:59:59.999Z`,
        what: `API latency ${d.day}: ${fmt((100 * d.good) / d.total)}% of ${d.total} queries within ${p.apiLatencySloMs} ms (objective ${100 * p.apiLatencyObjective}%)`,
      });
    }
  }
  for (const d of i.cacheDays) {
    if (d.total >= p.minDayRequests && (100 * d.good) / d.total < p.cacheHitFloorPct) {
      out.push({
        kind: 'slo-breach',
        at: `${d.day}T23:59:59.999Z`,
        what: `cache hit rate ${d.day}: ${fmt((100 * d.good) / d.total)}% of ${d.total} requests (floor ${p.cacheHitFloorPct}%)`,
      });
    }
  }
  return out.sort((a, b) => a.at.localeCompare(b.at));
}

export function components(i: StabilityInputs, p = STABILITY_POLICY): Component[] {
  const ended = i.runs.filter((r) => r.status === 'completed' || r.status === 'failed');
  const onTime = ended.filter((r) => r.status === 'completed' && (r.durationMs ?? Infinity) <= p.forecastOnTimeMs).length;
  const api = sum(i.apiDays);
  const cache = sum(i.cacheDays);
  const hitRate = pct(cache.good, cache.total);
  const gatesOk = i.gates.evaluations - i.gates.failed;
  const w = p.weights;
  return [
    {
      name: 'forecast-runs',
      label: 'Forecast runs completed on time',
      weight: w['forecast-runs'],
      value: pct(onTime, ended.length),
      good: onTime,
      total: ended.length,
      detail: ended.length ? `${onTime} of ${ended.length} runs completed within ${p.forecastOnTimeMs / 1000} s` : 'no forecast run ended in the window',
    },
    {
      name: 'api-latency',
      label: `API queries within ${p.apiLatencySloMs} ms`,
      weight: w['api-latency'],
      value: pct(api.good, api.total),
      good: api.good,
      total: api.total,
      detail: api.total ? `${api.good} of ${api.total} queries answered within ${p.apiLatencySloMs} ms` : 'no API queries in the window',
    },
    {
      name: 'cache-hit-rate',
      label: `Cache hit rate against ${p.cacheHitTargetPct}%`,
      weight: w['cache-hit-rate'],
      value: hitRate === null ? null : Math.min(100, (100 * hitRate) / p.cacheHitTargetPct),
      good: cache.good,
      total: cache.total,
      detail: hitRate === null ? 'no cache requests in the window' : `hit rate ${fmt(hitRate)}% of ${cache.total} requests, target ${p.cacheHitTargetPct}%`,
    },
    {
      name: 'gates',
      label: 'Rollout gate evaluations not breached',
      weight: w.gates,
      value: pct(gatesOk, i.gates.evaluations),
      good: gatesOk,
      total: i.gates.evaluations,
      detail: i.gates.evaluations ? `${i.gates.failed} of ${i.gates.evaluations} gate evaluations failed` : 'no gate evaluated in the window',
    },
  ];
}

export function stabilityScore(i: StabilityInputs, p = STABILITY_POLICY): StabilityReport {
  const comps = components(i, p);
  const found = incidents(i, p);
  const measured = comps.filter((c) => c.value !== null);
  const weight = measured.reduce((a, c) => a + c.weight, 0);
  const penalty = found.length * p.incidentPenalty;
  const score = weight ? Math.max(0, measured.reduce((a, c) => a + c.weight * (c.value as number), 0) / weight - penalty) : null;
  const rounded = score === null ? null : Math.round(score * 100) / 100;
  return { environment: i.environment, score: rounded, grade: grade(rounded), window: i.window, components: comps, incidents: found, penalty };
}

/** Human-readable lines for the CLI and the snapshot. */
export function describeStability(r: StabilityReport): string[] {
  const lines = [
    `Stability ${r.environment}, ${r.window.label} (${r.window.from} .. ${r.window.to}): ` +
      (r.score === null ? 'no data' : `${fmt(r.score)}/100, grade ${r.grade}`),
  ];
  for (const c of r.components) lines.push(`  ${c.label.padEnd(40)} ${c.value === null ? '   n/a' : fmt(c.value).padStart(6)}  (weight ${c.weight}) ${c.detail}`);
  lines.push(`  incidents: ${r.incidents.length}${r.penalty ? ` (-${fmt(r.penalty)} points)` : ''}`);
  for (const x of r.incidents) lines.push(`    ${x.at}  ${x.kind.padEnd(18)} ${x.what}`);
  return lines;
}

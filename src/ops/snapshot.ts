import { PLANS } from '../rollout/plans';
import type { GateName } from '../rollout/types';
import type { ShadowComparison } from '../rollout/shadow';
import type { StabilityReport } from './stability';

/**
 * The daily snapshot (the plan's PROD_DAILY_SNAPSHOTS.md): one environment's UTC day as data and
 * as markdown. Pure: src/db/ops.ts loads it, the dailySnapshot workflow stores it.
 */

export interface SnapshotRun {
  id: string;
  status: string;
  durationMs: number | null;
  peakRssMb: number | null;
  peakMemoryPct: number | null;
  mape: number | null;
  outlierCount: number | null;
  gc: { count: number; totalMs: number; maxMs: number } | null;
}

export interface DailySnapshot {
  environment: string;
  /** YYYY-MM-DD, UTC */
  day: string;
  runs: SnapshotRun[];
  cache: { hits: number; misses: number };
  /** The plan's peak windows of that day (11:30-12:30, 17:30-18:30 UTC by default). */
  peaks: { label: string; start: string; hits: number; misses: number }[];
  prefetches: { id: string; trigger: string; status: string; keys: number | null; durationMs: number | null; at: string }[];
  stability: StabilityReport;
  releasesInFlight: { release: string; status: string; stage: string; startedAt: string }[];
}

export interface RolloutTimeline {
  release: string;
  plan: string | null;
  status: string;
  stage: string;
  startedAt: string;
  finishedAt: string | null;
  gates: { environment: string; gate: string; status: string; measured: number | null; threshold: number | null; comparator: string | null; at: string }[];
  events: { at: string; kind: string; text: string }[];
  /** The rollout's shadow A/B, when it ran one. */
  shadow?: ShadowComparison | null;
}

/** The plan's pass criterion for a metric (first plan that gates on it), e.g. peak memory < 62. */
export function planThreshold(gate: GateName): { comparator: string; value: number } | undefined {
  for (const plan of Object.values(PLANS)) {
    const g = plan.gates.find((x) => x.gate === gate);
    if (g) return { comparator: g.comparator, value: g.threshold };
  }
  return undefined;
}

const finite = (xs: (number | null)[]) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const maxOf = (xs: number[]) => (xs.length ? Math.max(...xs) : null);
export const rate = (good: number, total: number) => (total ? (100 * good) / total : null);

/** The day's headline figures (what the ops report charts per day). */
export function snapshotSummary(s: DailySnapshot) {
  const done = s.runs.filter((r) => r.status === 'completed');
  const peakHits = s.peaks.reduce((a, p) => a + p.hits, 0);
  const peakMisses = s.peaks.reduce((a, p) => a + p.misses, 0);
  return {
    runs: s.runs.length,
    failedRuns: s.runs.filter((r) => r.status === 'failed').length,
    maxDurationMs: maxOf(finite(done.map((r) => r.durationMs))),
    peakMemoryPct: maxOf(finite(s.runs.map((r) => r.peakMemoryPct))),
    peakRssMb: maxOf(finite(s.runs.map((r) => r.peakRssMb))),
    mape: mean(finite(done.map((r) => r.mape))),
    outliers: maxOf(finite(done.map((r) => r.outlierCount))),
    gcMaxMs: maxOf(finite(s.runs.map((r) => r.gc?.maxMs ?? null))),
    hitRatePct: rate(s.cache.hits, s.cache.hits + s.cache.misses),
    peakMissPct: rate(peakMisses, peakHits + peakMisses),
    maxPrefetchMs: maxOf(finite(s.prefetches.map((p) => p.durationMs))),
    stability: s.stability.score,
    grade: s.stability.grade,
    incidents: s.stability.incidents.length,
  };
}

const n = (x: number | null, digits = 1, unit = '') => (x === null ? 'n/a' : `${x.toFixed(digits)}${unit}`);
const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderSnapshotMarkdown(s: DailySnapshot): string {
  const m = snapshotSummary(s);
  const t = (gate: GateName, scale = 1, unit = '') => {
    const th = planThreshold(gate);
    return th ? ` (plan ${th.comparator} ${th.value / scale}${unit})` : '';
  };
  const lines = [
    `## ${s.day} — ${s.environment}`,
    '',
    `Stability score: **${m.stability === null ? 'no data' : `${m.stability.toFixed(2)}/100`}** (grade ${m.grade}), incidents: ${m.incidents}`,
    '',
    '| metric | value |',
    '|---|---|',
    `| forecast runs | ${m.runs} (${m.failedRuns} failed) |`,
    `| run duration (max) | ${n(m.maxDurationMs === null ? null : m.maxDurationMs / 1000, 1, ' s')}${t('forecast-duration', 1000, ' s')} |`,
    `| peak memory | ${n(m.peakMemoryPct, 1, '%')} (${n(m.peakRssMb, 0, ' MiB')} RSS)${t('peak-memory', 1, '%')} |`,
    `| longest GC pause | ${n(m.gcMaxMs, 1, ' ms')} |`,
    `| MAPE (mean) | ${n(m.mape, 1, '%')}${t('mape', 1, '%')} |`,
    `| outlier SKUs | ${m.outliers ?? 'n/a'} |`,
    `| cache hit rate | ${n(m.hitRatePct, 2, '%')} of ${s.cache.hits + s.cache.misses} requests |`,
    ...s.peaks.map((p) => `| ${p.label} peak (${p.start.slice(11, 16)} UTC) misses | ${n(rate(p.misses, p.hits + p.misses), 2, '%')} of ${p.hits + p.misses} |`),
    `| prefetches | ${s.prefetches.length}, longest ${n(m.maxPrefetchMs === null ? null : m.maxPrefetchMs / 1000, 2, ' s')} |`,
    `| releases in flight | ${s.releasesInFlight.length ? s.releasesInFlight.map((r) => `${r.release} (${r.stage})`).join(', ') : 'none'} |`,
    '',
  ];
  if (s.stability.incidents.length) {
    lines.push('Incidents:', '', ...s.stability.incidents.map((i) => `- ${i.at} ${i.kind}: ${cell(i.what)}`), '');
  }
  if (s.runs.length) {
    lines.push('| run | status | duration | peak memory | MAPE | outliers | GC (count / total / max) |', '|---|---|---|---|---|---|---|');
    for (const r of s.runs) {
      lines.push(
        `| ${r.id} | ${r.status} | ${n(r.durationMs === null ? null : r.durationMs / 1000, 1, ' s')} | ${n(r.peakMemoryPct, 1, '%')} | ${n(r.mape, 1, '%')} | ${r.outlierCount ?? 'n/a'} | ` +
          `${r.gc ? `${r.gc.count} / ${r.gc.totalMs.toFixed(1)} ms / ${r.gc.maxMs.toFixed(1)} ms` : 'n/a'} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

import { parseEnvironment } from '../../config/schema';
import { percentile, replay, type Planned } from '../../api/load';
import { Workload } from '../../api/workload';
import { inPeakWindow, peakWindows } from '../../cache/stats';
import { readDevState } from '../services';

export interface TrafficSummary {
  sent: number;
  answered: number;
  errors: number;
  dropped: number;
  elapsedMs: number;
  hitRate: number | null;
  peakHitRate: number | null;
  hitP50Ms: number | null;
  hitP99Ms: number | null;
  missP50Ms: number | null;
  missP99Ms: number | null;
  firstErrors: string[];
}

/**
 * Replays one simulated day of realistic queries (Zipf SKUs, other horizons, trending and new
 * patterns, the two daily peaks) against the API at `base`, compressed into `duration` seconds at a
 * mean of `rate` requests/s (`dayOffset` simulates a later day). `neuro traffic` and the demo use it.
 */
export async function replayTraffic(opts: { base: string; environment: string; rate: number; duration: number; dayOffset?: number }): Promise<TrafficSummary> {
  const { base, environment } = opts;
  let catalogue: { skus: string[]; runId: string | null };
  try {
    const res = await fetch(new URL(`/api/v1/skus?env=${environment}`, base));
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    catalogue = (await res.json()) as { skus: string[]; runId: string | null };
  } catch (err) {
    throw new Error(`API at ${base} not reachable (${(err as Error).message}): start \`neuro dev\` or pass --url`, { cause: err });
  }
  if (!catalogue.skus.length) throw new Error(`no forecasts in ${environment} yet: run \`neuro forecast run --env ${environment} --wait\` first`);

  const total = Math.max(1, Math.round(opts.rate * opts.duration));
  const today = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()));
  const dayIndex = Math.floor(today.getTime() / 86_400_000) + (opts.dayOffset ?? 0);
  // The seed changes daily: each day brings its own trending and new query patterns.
  const queries = new Workload({ skus: catalogue.skus, seed: 1 }).day(dayIndex, total, new Date(0));
  const windows = peakWindows({ PREFETCH_MORNING_PEAK_HOUR: 11, PREFETCH_AFTERNOON_PEAK_HOUR: 17 });
  const scale = (opts.duration * 1000) / 86_400_000;
  const dayStart = dayIndex * 86_400_000;
  const plan: Planned<{ peak: boolean }>[] = queries.map((q) => ({
    path: `/api/v1/forecasts/${encodeURIComponent(q.sku)}?env=${environment}&horizon=${q.horizon}`,
    atMs: (q.at.getTime() - dayStart) * scale,
    tag: { peak: inPeakWindow(q.at, windows) },
  }));
  const { outcomes, dropped, elapsedMs } = await replay(base, plan, { concurrency: 64 });

  const ok = outcomes.filter((o) => o.status === 200);
  const rate = (xs: typeof ok) => (xs.length ? xs.filter((o) => o.cache === 'hit').length / xs.length : null);
  const hitMs = ok.filter((o) => o.cache === 'hit').map((o) => o.ms);
  const missMs = ok.filter((o) => o.cache === 'miss').map((o) => o.ms);
  const errors = outcomes.filter((o) => o.status !== 200);
  return {
    sent: outcomes.length,
    answered: ok.length,
    errors: errors.length,
    dropped,
    elapsedMs,
    hitRate: rate(ok),
    peakHitRate: rate(ok.filter((o) => o.tag.peak)),
    hitP50Ms: percentile(hitMs, 50),
    hitP99Ms: percentile(hitMs, 99),
    missP50Ms: percentile(missMs, 50),
    missP99Ms: percentile(missMs, 99),
    firstErrors: [...new Set(errors.map((e) => e.error ?? `HTTP ${e.status}`))].slice(0, 3),
  };
}

export function formatTraffic(t: TrafficSummary): string[] {
  const fmt = (x: number | null, digits = 2) => (x === null ? 'n/a' : x.toFixed(digits));
  return [
    `sent ${t.sent} in ${(t.elapsedMs / 1000).toFixed(1)} s (${t.dropped} dropped at the concurrency bound), ${t.answered} answered 200, ${t.errors} not`,
    `hit rate ${fmt(t.hitRate, 4)}; peak windows ${fmt(t.peakHitRate, 4)}`,
    `latency ms: hit p50 ${fmt(t.hitP50Ms)} p99 ${fmt(t.hitP99Ms)}; miss p50 ${fmt(t.missP50Ms)} p99 ${fmt(t.missP99Ms)}`,
    ...(t.firstErrors.length ? [`first errors: ${t.firstErrors.join('; ')}`] : []),
  ];
}

/** `neuro traffic`: replays a simulated day against a running API and prints hit rates and latencies. */
export async function trafficCommand(opts: { rate: number; duration: number; url?: string; env: string }): Promise<void> {
  const environment = parseEnvironment(opts.env);
  if (!(opts.rate > 0 && opts.rate <= 20_000)) throw new Error(`--rate must be between 0 and 20000 requests/s, got ${opts.rate}`);
  if (!(opts.duration > 0 && opts.duration <= 3600)) throw new Error(`--duration must be between 0 and 3600 seconds, got ${opts.duration}`);
  const base = opts.url ?? readDevState()?.apiUrl ?? 'http://127.0.0.1:8080';
  console.log(`replaying about ${Math.round(opts.rate * opts.duration)} queries against ${base} (${environment}): one simulated day in ${opts.duration} s`);
  for (const line of formatTraffic(await replayTraffic({ base, environment, rate: opts.rate, duration: opts.duration }))) console.log(line);
}

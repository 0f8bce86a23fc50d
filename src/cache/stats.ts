import { addCacheStats, cacheStatTotals } from '../db/cache-records';
import type { Pool } from 'pg';
import { getEnvironmentConfig } from '../db/config-store';
import type { ForecastConfig } from '../config/schema';

/**
 * Hit/miss accounting per environment per minute (cache_stats), so a rollout gate can ask for the
 * hit rate and the peak-hour misses of any window after the fact.
 */

export interface PeakWindow {
  label: 'morning' | 'afternoon';
  /** Minute of the UTC day the window starts; it lasts 60 minutes (may wrap past midnight). */
  startMinute: number;
}

/** The plan's peaks are PEAK_HOUR:30 .. PEAK_HOUR+1:30 UTC (11:30-12:30, 17:30-18:30 by default). */
export function peakWindows(config: Pick<ForecastConfig, 'PREFETCH_MORNING_PEAK_HOUR' | 'PREFETCH_AFTERNOON_PEAK_HOUR'>): PeakWindow[] {
  return [
    { label: 'morning', startMinute: config.PREFETCH_MORNING_PEAK_HOUR * 60 + 30 },
    { label: 'afternoon', startMinute: config.PREFETCH_AFTERNOON_PEAK_HOUR * 60 + 30 },
  ];
}

export function inPeakWindow(at: Date, windows: PeakWindow[]): boolean {
  const minute = at.getUTCHours() * 60 + at.getUTCMinutes();
  return windows.some((w) => (((minute - w.startMinute) % 1440) + 1440) % 1440 < 60);
}

export interface HitRate {
  hits: number;
  misses: number;
  /** hits / (hits + misses); null when nothing was served in the window. */
  rate: number | null;
}

/** Hit rate of an environment over [from, to) at minute granularity; peakOnly keeps the peak windows. */
export async function hitRate(pool: Pool, environment: string, from: Date, to: Date, opts: { peakOnly?: boolean } = {}): Promise<HitRate> {
  const starts = opts.peakOnly ? peakWindows(await getEnvironmentConfig(pool, environment)).map((w) => w.startMinute) : null;
  const { hits, misses } = await cacheStatTotals(pool, environment, from, to, starts);
  return { hits, misses, rate: hits + misses ? hits / (hits + misses) : null };
}

/**
 * Counts hits and misses in memory per (environment, minute) and adds them to cache_stats in one
 * statement per flush, off the response path. A failed flush keeps its counts for the next one.
 */
export class CacheStatsRecorder {
  private counts = new Map<string, { environment: string; minute: number; hits: number; misses: number }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: Pool,
    private readonly opts: { flushMs?: number; now?: () => Date; log?: (line: string) => void } = {},
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
    this.timer.unref();
  }

  record(environment: string, hit: boolean, at: Date = (this.opts.now ?? (() => new Date()))()): void {
    const minute = Math.floor(at.getTime() / 60_000) * 60_000;
    const k = `${environment}|${minute}`;
    let c = this.counts.get(k);
    if (!c) {
      // Bounded: an unreachable database must not grow this without end (a day of minutes per env).
      if (this.counts.size >= 10_000) return;
      c = { environment, minute, hits: 0, misses: 0 };
      this.counts.set(k, c);
    }
    if (hit) c.hits++;
    else c.misses++;
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (!this.counts.size) return;
    const batch = [...this.counts.values()];
    this.counts = new Map();
    try {
      await addCacheStats(this.pool, batch);
    } catch (err) {
      this.opts.log?.(`[stats] cache_stats flush failed (${(err as Error).message}); kept for the next flush`);
      for (const c of batch) {
        const k = `${c.environment}|${c.minute}`;
        const cur = this.counts.get(k);
        if (cur) {
          cur.hits += c.hits;
          cur.misses += c.misses;
        } else this.counts.set(k, c);
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

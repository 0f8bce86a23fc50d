import { MAX_HORIZON_DAYS } from '../forecasting/limits';
import type { Pool } from 'pg';
import { currentRunId, runForecastRows, runIntervalRows } from '../db/served-forecasts';
import { getEnvironmentConfig } from '../db/config-store';
import type { ForecastConfig } from '../config/schema';
import type { CacheEntry, ForecastCache } from './types';

/**
 * The forecast read path shared by the API, the post-run preload and the prefetch: one key per
 * (environment, SKU, horizon), one JSON value format, one way to read it from PostgreSQL (the
 * environment's current_forecast_run).
 */

export interface ForecastPoint {
  ds: string;
  value: number;
  /** Interval bounds per stored level, statsforecast's names (`lo-80`, `hi-80`); null where the SKU has none (history too short). */
  [bound: `${'lo' | 'hi'}-${number}`]: number | null;
}

/** The cached value and the API's answer. */
export interface CachedForecast {
  sku: string;
  environment: string;
  runId: string;
  model: string;
  /** The cohort of the model assignment that served the SKU in the run; null when the environment's policy did. */
  cohort: string | null;
  horizon: number;
  /** Interval levels the run stores (absent when none). */
  intervalLevels?: number[];
  points: ForecastPoint[];
}

/**
 * The forecast as served for the requested levels: only those bounds on each point, or none
 * without `levels`. Throws naming the level when the run does not store it.
 */
export function forLevels(f: CachedForecast, levels: readonly number[] | undefined): CachedForecast {
  const stored = f.intervalLevels ?? [];
  const missing = (levels ?? []).filter((l) => !stored.includes(l));
  if (missing.length) {
    throw new RangeError(`level ${missing.join(', ')} is not stored for run ${f.runId} (stored: ${stored.length ? stored.join(', ') : 'none'}; FORECAST_INTERVAL_LEVELS)`);
  }
  const rest: CachedForecast = { ...f };
  delete rest.intervalLevels;
  if (!levels?.length) return stored.length ? { ...rest, points: f.points.map((p) => ({ ds: p.ds, value: p.value })) } : f;
  return {
    ...rest,
    intervalLevels: [...levels],
    points: f.points.map((p) => {
      const out: ForecastPoint = { ds: p.ds, value: p.value };
      for (const l of levels) {
        out[`lo-${l}`] = p[`lo-${l}`] ?? null;
        out[`hi-${l}`] = p[`hi-${l}`] ?? null;
      }
      return out;
    }),
  };
}

export const MAX_HORIZON = MAX_HORIZON_DAYS;

export function forecastKey(environment: string, sku: string, horizon: number): string {
  return `neuro:forecast:${environment}:h${horizon}:${sku}`;
}

/** The run's forecasts of these SKUs, first `horizon` days each; SKUs without rows are absent. */
export async function readForecasts(
  pool: Pool,
  environment: string,
  runId: string,
  skus: string[],
  horizon: number,
): Promise<Map<string, CachedForecast>> {
  const out = new Map<string, CachedForecast>();
  if (!skus.length) return out;
  // the run's interval levels ride along on every row: no extra round trip for a run without intervals
  const rows = await runForecastRows(pool, environment, runId, skus, horizon);
  const levels = rows[0]?.levels ?? [];
  for (const r of rows) {
    let f = out.get(r.sku_id);
    if (!f) {
      f = { sku: r.sku_id, environment, runId, model: r.model, cohort: r.cohort ?? null, horizon, ...(levels.length ? { intervalLevels: levels } : {}), points: [] };
      out.set(r.sku_id, f);
    }
    const p: ForecastPoint = { ds: r.ds, value: r.value };
    for (const l of levels) {
      p[`lo-${l}`] = null;
      p[`hi-${l}`] = null;
    }
    f.points.push(p);
  }
  if (levels.length) await addIntervals(pool, environment, runId, out);
  return out;
}

/** Fills the points' bounds from forecast_intervals (the points' dates only). */
async function addIntervals(pool: Pool, environment: string, runId: string, found: Map<string, CachedForecast>): Promise<void> {
  const rows = await runIntervalRows(pool, environment, runId, [...found.keys()]);
  const byDay = new Map<string, ForecastPoint>();
  for (const f of found.values()) for (const p of f.points) byDay.set(`${f.sku}|${p.ds}`, p);
  for (const r of rows) {
    const p = byDay.get(`${r.sku_id}|${r.ds}`);
    if (!p) continue;
    p[`lo-${r.level}`] = r.lo;
    p[`hi-${r.level}`] = r.hi;
  }
}

/** Reads a run's forecasts for (sku, horizon) pairs and writes them to the cache, pipelined in chunks. */
export async function warmKeys(
  pool: Pool,
  cache: ForecastCache,
  environment: string,
  runId: string,
  queries: { sku: string; horizon: number }[],
  ttlSeconds: number,
  chunk = 500,
): Promise<number> {
  const byHorizon = new Map<number, string[]>();
  for (const q of queries) byHorizon.set(q.horizon, [...(byHorizon.get(q.horizon) ?? []), q.sku]);
  let written = 0;
  for (const [horizon, skus] of byHorizon) {
    for (let i = 0; i < skus.length; i += chunk) {
      const found = await readForecasts(pool, environment, runId, skus.slice(i, i + chunk), horizon);
      const entries: CacheEntry[] = [...found.values()].map((f) => ({
        key: forecastKey(environment, f.sku, horizon),
        value: JSON.stringify(f),
        ttlSeconds,
      }));
      await cache.setMany(entries);
      written += entries.length;
    }
  }
  return written;
}

export interface ReadResult {
  forecast: CachedForecast | null;
  hit: boolean;
}

export interface ReaderOptions {
  log: (line: string) => void;
  /** How long the current run id and config are reused before re-reading them. */
  refreshMs?: number;
  /** XFetch beta: > 1 refreshes earlier, 0 disables early refresh. */
  earlyRefreshBeta?: number;
  /** While the cache is down, one request per this many ms tries it again. */
  probeIntervalMs?: number;
  random?: () => number;
}

/**
 * Cache-then-database reads with three protections: single-flight (concurrent misses of one key
 * read the database once), probabilistic early refresh (XFetch: a hot key is refreshed in the
 * background shortly before it expires, with a probability that grows as expiry nears), and
 * degraded mode (cache errors become misses answered by PostgreSQL; logged once per outage; the
 * cache is tried again every probeIntervalMs and used as soon as it answers).
 */
export class ForecastReader {
  private readonly inflight = new Map<string, Promise<CachedForecast | undefined>>();
  private readonly runs = new Map<string, { at: number; value: Promise<string | null>; reloading?: boolean }>();
  private readonly configs = new Map<string, { at: number; value: Promise<ForecastConfig>; reloading?: boolean }>();
  private readonly freshReads = new Map<string, { at: number; value: Promise<string | null> }>();
  /** Mean database read time (ms), XFetch's delta. */
  private recomputeMs = 5;
  private degradedSince: number | null = null;
  private lastProbe = 0;

  constructor(
    private readonly pool: Pool,
    private readonly cache: ForecastCache,
    private readonly opts: ReaderOptions,
  ) {}

  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  config(environment: string): Promise<ForecastConfig> {
    return this.memo(this.configs, environment, () => getEnvironmentConfig(this.pool, environment));
  }

  currentRun(environment: string): Promise<string | null> {
    return this.memo(this.runs, environment, () => currentRunId(this.pool, environment));
  }

  /**
   * Reuses a recent answer per environment. Once stale, the old answer is still returned while one
   * background read replaces it, so no request waits for it; a failed read is not kept.
   */
  private memo<T>(map: Map<string, { at: number; value: Promise<T>; reloading?: boolean }>, environment: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(environment);
    const fresh = hit && Date.now() - hit.at < (this.opts.refreshMs ?? 1000);
    if (hit && (fresh || hit.reloading)) return hit.value;
    const value = load();
    if (hit) {
      hit.reloading = true;
      value.then(
        () => map.set(environment, { at: Date.now(), value }),
        () => (hit.reloading = false),
      );
      return hit.value;
    }
    map.set(environment, { at: Date.now(), value });
    value.catch(() => map.delete(environment));
    return value;
  }

  /** One SKU, with early refresh. */
  async readOne(environment: string, sku: string, horizon: number): Promise<ReadResult> {
    let runId = await this.currentRun(environment);
    if (!runId) return { forecast: null, hit: false };
    const key = forecastKey(environment, sku, horizon);
    const cached = await this.cacheOp(() => this.cache.getWithTtl(key));
    const value = cached ? parse(cached.value) : undefined;
    // Another run's value: either it is stale or our run id is (a run switch within refreshMs).
    if (value && value.runId !== runId) runId = (await this.freshRun(environment)) ?? runId;
    if (value && cached && value.runId === runId) {
      if (this.shouldRefreshEarly(cached.pttlMs)) void this.load(environment, runId, [sku], horizon).catch(() => undefined);
      return { forecast: value, hit: true };
    }
    const [loaded] = await this.load(environment, runId, [sku], horizon);
    if (loaded) return { forecast: loaded, hit: false };
    // Nothing in this run: the run may have just changed (the id is reused for up to refreshMs).
    const latest = await this.freshRun(environment);
    if (!latest || latest === runId) return { forecast: null, hit: false };
    const [again] = await this.load(environment, latest, [sku], horizon);
    return { forecast: again ?? null, hit: false };
  }

  /** Several SKUs: one MGET, one database query for all misses. */
  async readMany(environment: string, skus: string[], horizon: number): Promise<Map<string, ReadResult>> {
    const out = new Map<string, ReadResult>();
    let runId = await this.currentRun(environment);
    if (!runId) {
      for (const s of skus) out.set(s, { forecast: null, hit: false });
      return out;
    }
    const raw = (await this.cacheOp(() => this.cache.mget(skus.map((s) => forecastKey(environment, s, horizon))))) ?? [];
    const values = skus.map((_, i) => (raw[i] ? parse(raw[i] as string) : undefined));
    if (values.some((v) => v && v.runId !== runId)) runId = (await this.freshRun(environment)) ?? runId;
    const missing: string[] = [];
    skus.forEach((s, i) => {
      const v = values[i];
      if (v && v.runId === runId) out.set(s, { forecast: v, hit: true });
      else missing.push(s);
    });
    const loaded = await this.load(environment, runId, missing, horizon);
    missing.forEach((s, i) => out.set(s, { forecast: loaded[i] ?? null, hit: false }));
    const notFound = missing.filter((_, i) => !loaded[i]);
    const latest = notFound.length ? await this.freshRun(environment) : runId;
    if (latest && latest !== runId) {
      const again = await this.load(environment, latest, notFound, horizon);
      notFound.forEach((s, i) => out.set(s, { forecast: again[i] ?? null, hit: false }));
    }
    return out;
  }

  /**
   * Reads the current run id now and keeps it; concurrent callers share one read and a read is
   * reused for 100 ms, so a burst of mismatches after a run switch costs one query.
   */
  private freshRun(environment: string): Promise<string | null> {
    const recent = this.freshReads.get(environment);
    if (recent && Date.now() - recent.at < 100) return recent.value;
    const value = currentRunId(this.pool, environment);
    this.freshReads.set(environment, { at: Date.now(), value });
    value.then(
      () => this.runs.set(environment, { at: Date.now(), value }),
      () => this.freshReads.delete(environment),
    );
    return value;
  }

  private shouldRefreshEarly(pttlMs: number): boolean {
    const beta = this.opts.earlyRefreshBeta ?? 1;
    if (beta <= 0 || pttlMs < 0) return false;
    const random = this.opts.random ?? Math.random;
    return -this.recomputeMs * beta * Math.log(random()) >= pttlMs;
  }

  /**
   * Database reads for these SKUs, single-flight per key and run, then written back to the cache.
   * A load stays joinable until its cache write has settled and the replies already received have
   * been handled: a miss answered just before the write lands joins it instead of reading again.
   */
  private async load(environment: string, runId: string, skus: string[], horizon: number): Promise<(CachedForecast | undefined)[]> {
    const flightKey = (s: string) => `${runId}|${forecastKey(environment, s, horizon)}`;
    const fresh = skus.filter((s) => !this.inflight.has(flightKey(s)));
    if (fresh.length) {
      const started = Date.now();
      const batch = readForecasts(this.pool, environment, runId, fresh, horizon).then(async (found) => {
        this.recomputeMs = 0.8 * this.recomputeMs + 0.2 * (Date.now() - started);
        if (!found.size) return { found, written: Promise.resolve() };
        const ttlSeconds = (await this.config(environment)).CACHE_TTL_SECONDS;
        const entries = [...found.values()].map((f) => ({ key: forecastKey(environment, f.sku, horizon), value: JSON.stringify(f), ttlSeconds }));
        // Written in the background: the answer does not wait for the cache.
        return { found, written: this.cacheOp(() => this.cache.setMany(entries)) };
      });
      const flights = fresh.map((s) => {
        const k = flightKey(s);
        const p = batch.then((b) => b.found.get(s));
        this.inflight.set(k, p);
        return [k, p] as const;
      });
      void batch
        .then((b) => b.written, () => undefined)
        .then(() => new Promise((resolve) => setImmediate(resolve)))
        .then(() => flights.forEach(([k, p]) => this.inflight.get(k) === p && this.inflight.delete(k)));
    }
    return Promise.all(skus.map((s) => this.inflight.get(flightKey(s)) as Promise<CachedForecast | undefined>));
  }

  /** Runs a cache operation; on failure marks the cache down (logged once) and returns undefined. */
  private async cacheOp<T>(op: () => Promise<T>): Promise<T | undefined> {
    if (this.degradedSince !== null) {
      const probeEvery = this.opts.probeIntervalMs ?? 1000;
      if (Date.now() - this.lastProbe < probeEvery) return undefined;
      this.lastProbe = Date.now();
    }
    try {
      const out = await op();
      if (this.degradedSince !== null) {
        this.opts.log(`[cache] back after ${Math.round((Date.now() - this.degradedSince) / 1000)} s: serving from the cache again`);
        this.degradedSince = null;
      }
      return out;
    } catch (err) {
      if (this.degradedSince === null) {
        this.degradedSince = Date.now();
        this.lastProbe = Date.now();
        this.opts.log(`[cache] unavailable (${(err as Error).message}): answering from PostgreSQL, counted as misses, until it is back`);
      }
      return undefined;
    }
  }
}

/** A cached value; it is only served for the environment's current run (callers compare runId). */
function parse(raw: string): CachedForecast | undefined {
  try {
    const f = JSON.parse(raw) as CachedForecast;
    f.cohort ??= null; // written before forecasts named their cohort
    return f;
  } catch {
    return undefined;
  }
}

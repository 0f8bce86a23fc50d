import type { Pool } from 'pg';

/** The cache's records: prefetch runs and per-minute hit/miss counts (cache_stats). */

export async function startPrefetchRun(pool: Pool, r: { prefetchId: string; environment: string; trigger: string; topN: number; includeRecent: boolean }): Promise<void> {
  await pool.query(
    `INSERT INTO prefetch_runs (id, environment, trigger, top_n, include_recent, status) VALUES ($1, $2, $3, $4, $5, 'running')
     ON CONFLICT (id) DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL`,
    [r.prefetchId, r.environment, r.trigger, r.topN, r.includeRecent],
  );
}

export async function finishPrefetchRun(
  pool: Pool,
  r: { prefetchId: string; keysWarmed: number; durationMs: number; memoryImpactPct: number; status: string },
): Promise<void> {
  await pool.query(
    `UPDATE prefetch_runs SET keys_warmed = $2, duration_ms = $3, memory_impact_pct = $4, status = $5, finished_at = now() WHERE id = $1`,
    [r.prefetchId, r.keysWarmed, r.durationMs, r.memoryImpactPct, r.status],
  );
}

/** A prefetch that did not run still leaves a row saying why. */
export async function insertSkippedPrefetch(
  pool: Pool,
  r: { prefetchId: string; environment: string; trigger: string; topN: number; includeRecent: boolean; reason: string },
): Promise<void> {
  await pool.query(
    `INSERT INTO prefetch_runs (id, environment, trigger, top_n, include_recent, keys_warmed, duration_ms, status, finished_at)
     VALUES ($1, $2, $3, $4, $5, 0, 0, $6, now())
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, finished_at = now()`,
    [r.prefetchId, r.environment, r.trigger, r.topN, r.includeRecent, `skipped: ${r.reason}`],
  );
}

/** Hits and misses over [from, to) at minute granularity; with window starts (minute of day, UTC) only the hour after each. */
export async function cacheStatTotals(pool: Pool, environment: string, from: Date, to: Date, windowStarts: number[] | null): Promise<{ hits: number; misses: number }> {
  const { rows } = await pool.query<{ hits: number; misses: number }>(
    `SELECT COALESCE(SUM(hits), 0)::bigint AS hits, COALESCE(SUM(misses), 0)::bigint AS misses FROM cache_stats
     WHERE environment = $1 AND minute >= date_trunc('minute', $2::timestamptz) AND minute < $3
       AND ($4::int[] IS NULL OR EXISTS (
         SELECT 1 FROM unnest($4::int[]) AS w(start)
         WHERE ((((EXTRACT(HOUR FROM minute AT TIME ZONE 'UTC') * 60 + EXTRACT(MINUTE FROM minute AT TIME ZONE 'UTC'))::int
                 - w.start) % 1440 + 1440) % 1440) < 60))`,
    [environment, from, to, windowStarts],
  );
  return rows[0];
}

/** Adds per-minute counts in one statement. */
export async function addCacheStats(pool: Pool, counts: { environment: string; minute: number; hits: number; misses: number }[]): Promise<void> {
  await pool.query(
    `INSERT INTO cache_stats (environment, minute, hits, misses)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[])
     ON CONFLICT (environment, minute) DO UPDATE
       SET hits = cache_stats.hits + EXCLUDED.hits, misses = cache_stats.misses + EXCLUDED.misses`,
    [counts.map((c) => c.environment), counts.map((c) => new Date(c.minute)), counts.map((c) => c.hits), counts.map((c) => c.misses)],
  );
}

/** Prefetch runs recorded, by environment and status (the API's metrics). */
export async function prefetchRunCounts(pool: Pool): Promise<{ environment: string; status: string; n: number }[]> {
  return (await pool.query<{ environment: string; status: string; n: number }>('SELECT environment, status, COUNT(*)::bigint AS n FROM prefetch_runs GROUP BY environment, status')).rows;
}

/** The latest completed prefetch per environment and trigger. */
export async function latestPrefetches(pool: Pool): Promise<{ environment: string; trigger: string; duration_ms: number; keys_warmed: number }[]> {
  const { rows } = await pool.query<{ environment: string; trigger: string; duration_ms: number; keys_warmed: number }>(
    `SELECT DISTINCT ON (environment, trigger) environment, trigger, duration_ms, keys_warmed FROM prefetch_runs
     WHERE status = 'completed' ORDER BY environment, trigger, finished_at DESC`,
  );
  return rows;
}

import type { Pool } from 'pg';

/**
 * The query log (query_log): batched inserts from the API, and the plan's query analysis the
 * prefetch is computed from (top-N per window, popular horizons, most-queried SKUs).
 */

export interface QueryLogRow {
  environment: string;
  hash: string;
  pattern: string;
  sku: string;
  horizon: number;
  durationMs: number;
  cacheHit: boolean;
  at: Date;
}

/** One statement per batch. */
export async function insertQueryLog(pool: Pool, rows: QueryLogRow[]): Promise<void> {
  await pool.query(
    `INSERT INTO query_log (environment, query_hash, query_pattern, sku_id, horizon, duration_ms, cache_hit, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::float8[], $7::bool[], $8::timestamptz[])`,
    [
      rows.map((e) => e.environment),
      rows.map((e) => e.hash),
      rows.map((e) => e.pattern),
      rows.map((e) => e.sku),
      rows.map((e) => e.horizon),
      rows.map((e) => e.durationMs),
      rows.map((e) => e.cacheHit),
      rows.map((e) => e.at),
    ],
  );
}

export interface TopQuery {
  sku: string;
  horizon: number;
  hits: number;
  /** Which analysis picked it first: the 30-day top-N or the last-24-hours top-N. */
  source: '30d' | '24h';
}

/** Queries of one window (last 30 days or last 24 hours before `now`) by hit count, most frequent first. */
export async function rankedQueries(
  pool: Pool,
  environment: string,
  window: TopQuery['source'],
  limit: number,
  now: Date = new Date(),
): Promise<TopQuery[]> {
  const { rows } = await pool.query<{ sku_id: string; horizon: number; hits: number }>(
    `SELECT sku_id, horizon, COUNT(*)::bigint AS hits FROM query_log
     WHERE environment = $1 AND created_at > $2::timestamptz - $3::interval AND created_at <= $2
       AND sku_id IS NOT NULL AND horizon IS NOT NULL
     GROUP BY query_hash, sku_id, horizon ORDER BY hits DESC, sku_id, horizon LIMIT $4`,
    [environment, now, window === '30d' ? '30 days' : '24 hours', limit],
  );
  return rows.map((r) => ({ sku: r.sku_id, horizon: r.horizon, hits: r.hits, source: window }));
}

/**
 * The plan's query analysis: the top-N queries of the last 30 days by hit count, plus (when
 * includeRecent) the top-N of the last 24 hours, deduplicated, most frequent first.
 */
export async function topQueries(
  pool: Pool,
  environment: string,
  opts: { topN: number; includeRecent: boolean; now?: Date },
): Promise<TopQuery[]> {
  const out = await rankedQueries(pool, environment, '30d', opts.topN, opts.now);
  if (opts.includeRecent) {
    const seen = new Set(out.map((q) => `${q.sku}\n${q.horizon}`));
    for (const q of await rankedQueries(pool, environment, '24h', opts.topN, opts.now)) if (!seen.has(`${q.sku}\n${q.horizon}`)) out.push(q);
  }
  return out;
}

/**
 * Query weights for the pattern analysis: every query of the last 30 days counts once, and with
 * includeRecent a query of the last 24 hours counts twice (it is in both of the plan's windows).
 */
const WEIGHTED_HITS = `SUM(CASE WHEN $3::boolean AND created_at > $2::timestamptz - interval '24 hours' THEN 2 ELSE 1 END)::bigint`;
const IN_30_DAYS = `environment = $1 AND created_at > $2::timestamptz - interval '30 days' AND created_at <= $2 AND sku_id IS NOT NULL AND horizon IS NOT NULL`;

/**
 * A horizon other than the default is a popular pattern when it has at least this share of the
 * non-default traffic: the workload's regular other horizons each have 10-35% of it, one-off
 * horizons well under 1%.
 */
export const PATTERN_MIN_SHARE = 0.05;

/** The popular non-default horizons of the window, most asked-for first. */
export async function popularHorizons(
  pool: Pool,
  environment: string,
  opts: { defaultHorizon: number; includeRecent: boolean; now?: Date; minShare?: number },
): Promise<number[]> {
  const { rows } = await pool.query<{ horizon: number; hits: string }>(
    `SELECT horizon, ${WEIGHTED_HITS} AS hits FROM query_log WHERE ${IN_30_DAYS} AND horizon <> $4
     GROUP BY horizon ORDER BY hits DESC, horizon`,
    [environment, opts.now ?? new Date(), opts.includeRecent, opts.defaultHorizon],
  );
  const total = rows.reduce((s, r) => s + Number(r.hits), 0);
  return rows.filter((r) => Number(r.hits) >= (opts.minShare ?? PATTERN_MIN_SHARE) * total).map((r) => r.horizon);
}

/** The `k` most-queried SKUs of the window (all horizons), most first; ties by SKU id. */
export async function topSkus(pool: Pool, environment: string, opts: { k: number; includeRecent: boolean; now?: Date }): Promise<string[]> {
  if (opts.k <= 0) return [];
  const { rows } = await pool.query<{ sku_id: string }>(
    `SELECT sku_id, ${WEIGHTED_HITS} AS hits FROM query_log WHERE ${IN_30_DAYS}
     GROUP BY sku_id ORDER BY hits DESC, sku_id LIMIT $4`,
    [environment, opts.now ?? new Date(), opts.includeRecent, opts.k],
  );
  return rows.map((r) => r.sku_id);
}

import type { Pool } from 'pg';

/** Test data for the cache, API and prefetch tests: a run's forecasts and a query log, written directly. */

export function skuIds(n: number, prefix = 'SKU'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}`);
}

/** A completed run: `days` daily forecasts for each SKU, made the environment's current run. */
export async function seedRun(pool: Pool, environment: string, runId: string, skus: string[], days = 28, start = '2025-01-01'): Promise<void> {
  await pool.query('INSERT INTO skus (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [skus]);
  const rows: { sku: string; ds: string; value: number }[] = [];
  const t0 = Date.parse(`${start}T00:00:00Z`);
  skus.forEach((sku, i) => {
    for (let d = 0; d < days; d++) rows.push({ sku, ds: new Date(t0 + d * 86_400_000).toISOString().slice(0, 10), value: i + d / 100 });
  });
  await pool.query(
    `INSERT INTO forecasts (environment, run_id, sku_id, ds, model, value)
     SELECT $1, $2, s, d, 'SES', v FROM unnest($3::text[], $4::date[], $5::float8[]) AS t(s, d, v)`,
    [environment, runId, rows.map((r) => r.sku), rows.map((r) => r.ds), rows.map((r) => r.value)],
  );
  await pool.query(
    `INSERT INTO current_forecast_run (environment, run_id) VALUES ($1, $2)
     ON CONFLICT (environment) DO UPDATE SET run_id = EXCLUDED.run_id, updated_at = now()`,
    [environment, runId],
  );
}

/** `n` query-log rows for (sku, horizon) at time `at`. */
export async function logQueries(pool: Pool, environment: string, entries: { sku: string; horizon: number; n: number; at?: Date }[]): Promise<void> {
  const env: string[] = [];
  const hash: string[] = [];
  const sku: string[] = [];
  const horizon: number[] = [];
  const at: Date[] = [];
  for (const e of entries) {
    for (let i = 0; i < e.n; i++) {
      env.push(environment);
      hash.push(`${environment}|${e.sku}|${e.horizon}`);
      sku.push(e.sku);
      horizon.push(e.horizon);
      at.push(e.at ?? new Date());
    }
  }
  await pool.query(
    `INSERT INTO query_log (environment, query_hash, query_pattern, sku_id, horizon, duration_ms, cache_hit, created_at)
     SELECT e, h, 'test', s, hz, 1, false, t FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[]) AS x(e, h, s, hz, t)`,
    [env, hash, sku, horizon, at],
  );
}

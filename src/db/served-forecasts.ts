import type { Pool } from 'pg';

/**
 * Reads of the forecasts a run serves (the cache's source of truth and its fallback when Redis is
 * down): the environment's current run, a run's rows and interval bounds, its SKUs.
 */

export async function currentRunId(pool: Pool, environment: string): Promise<string | null> {
  const { rows } = await pool.query<{ run_id: string }>('SELECT run_id FROM current_forecast_run WHERE environment = $1', [environment]);
  return rows[0]?.run_id ?? null;
}

/** The run's first `horizon` days of each SKU, with the run's interval levels and the SKU's cohort in the run on every row (no extra round trip). */
export async function runForecastRows(pool: Pool, environment: string, runId: string, skus: string[], horizon: number) {
  const { rows } = await pool.query<{ sku_id: string; ds: string; model: string; value: number; levels: number[] | null; cohort: string | null }>(
    `SELECT f.sku_id, ds, model, value, (SELECT interval_levels FROM forecast_runs WHERE id = $2) AS levels, ra.cohort FROM (
       SELECT sku_id, ds, model, value, row_number() OVER (PARTITION BY sku_id ORDER BY ds) AS n
       FROM forecasts WHERE environment = $1 AND run_id = $2 AND sku_id = ANY($3)
     ) f LEFT JOIN run_assignments ra ON ra.run_id = $2 AND ra.sku_id = f.sku_id
     WHERE n <= $4 ORDER BY f.sku_id, ds`,
    [environment, runId, skus, horizon],
  );
  return rows;
}

export async function runIntervalRows(pool: Pool, environment: string, runId: string, skus: string[]) {
  const { rows } = await pool.query<{ sku_id: string; ds: string; level: number; lo: number; hi: number }>(
    'SELECT sku_id, ds, level, lo, hi FROM forecast_intervals WHERE environment = $1 AND run_id = $2 AND sku_id = ANY($3)',
    [environment, runId, skus],
  );
  return rows;
}

export async function knownSkus(pool: Pool, skus: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM skus WHERE id = ANY($1)', [skus]);
  return new Set(rows.map((r) => r.id));
}

export async function runSkus(pool: Pool, environment: string, runId: string): Promise<string[]> {
  const { rows } = await pool.query<{ sku_id: string }>(
    'SELECT DISTINCT sku_id FROM forecasts WHERE environment = $1 AND run_id = $2 ORDER BY sku_id',
    [environment, runId],
  );
  return rows.map((r) => r.sku_id);
}

import type { Pool, PoolClient } from 'pg';
import type { RealisedRow, ShadowRow } from '../rollout/shadow';

/**
 * The shadow A/B's storage (migration 012): challenger forecasts beside a run's own, never served,
 * and champion-vs-challenger backtest rows per SKU; reads for the comparison (src/rollout/shadow.ts).
 * Writes are idempotent like the run's own (a retried batch overwrites).
 */

type Queryable = Pool | PoolClient;

export interface ShadowForecastRows {
  skuIds: string[];
  dates: string[];
  models: string[];
  values: number[];
}

export async function upsertShadowForecasts(c: Queryable, environment: string, runId: string, rows: ShadowForecastRows): Promise<void> {
  if (!rows.skuIds.length) return;
  await c.query(
    `INSERT INTO shadow_forecasts (environment, run_id, sku_id, ds, model, value)
     SELECT $1, $2, * FROM unnest($3::text[], $4::date[], $5::text[], $6::float8[])
     ON CONFLICT (environment, run_id, sku_id, ds) DO UPDATE SET model = EXCLUDED.model, value = EXCLUDED.value`,
    [environment, runId, rows.skuIds, rows.dates, rows.models, rows.values],
  );
}

export async function upsertShadowAccuracy(c: Queryable, environment: string, runId: string, rows: ShadowRow[]): Promise<void> {
  if (!rows.length) return;
  const col = <T>(f: (r: ShadowRow) => T) => rows.map(f);
  await c.query(
    `INSERT INTO shadow_accuracy (environment, run_id, sku_id, demand_class, champion_model, challenger_model, champion_mape, challenger_mape,
       champion_rmsse, challenger_rmsse, champion_abs_err, challenger_abs_err, actual)
     SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[])
     ON CONFLICT (environment, run_id, sku_id) DO UPDATE SET demand_class = EXCLUDED.demand_class, champion_model = EXCLUDED.champion_model,
       challenger_model = EXCLUDED.challenger_model, champion_mape = EXCLUDED.champion_mape, challenger_mape = EXCLUDED.challenger_mape,
       champion_rmsse = EXCLUDED.champion_rmsse, challenger_rmsse = EXCLUDED.challenger_rmsse, champion_abs_err = EXCLUDED.champion_abs_err,
       challenger_abs_err = EXCLUDED.challenger_abs_err, actual = EXCLUDED.actual`,
    [
      environment, runId, col((r) => r.sku), col((r) => r.demandClass), col((r) => r.champion.model), col((r) => r.challenger.model),
      col((r) => r.champion.mape), col((r) => r.challenger.mape), col((r) => r.champion.rmsse), col((r) => r.challenger.rmsse),
      col((r) => r.champion.absErr), col((r) => r.challenger.absErr), col((r) => r.actual),
    ],
  );
}

/** Backtest rows of these runs (every cycle's). */
export async function shadowRows(c: Queryable, environment: string, runIds: string[]): Promise<ShadowRow[]> {
  const { rows } = await c.query<{
    sku_id: string; demand_class: string | null; champion_model: string; challenger_model: string; champion_mape: number | null; challenger_mape: number | null;
    champion_rmsse: number | null; challenger_rmsse: number | null; champion_abs_err: number; challenger_abs_err: number; actual: number;
  }>('SELECT * FROM shadow_accuracy WHERE environment = $1 AND run_id = ANY($2) ORDER BY run_id, sku_id', [environment, runIds]);
  return rows.map((r) => ({
    sku: r.sku_id,
    demandClass: r.demand_class,
    champion: { model: r.champion_model, mape: r.champion_mape, rmsse: r.champion_rmsse, absErr: r.champion_abs_err },
    challenger: { model: r.challenger_model, mape: r.challenger_mape, rmsse: r.challenger_rmsse, absErr: r.challenger_abs_err },
    actual: r.actual,
  }));
}

/** Both forecasts of these runs against the actuals that have arrived for their dates, per SKU. */
export async function realisedRows(c: Queryable, environment: string, runIds: string[]): Promise<RealisedRow[]> {
  const { rows } = await c.query<{
    sku_id: string; demand_class: string | null; days: number; actual: number; champion_abs: number; challenger_abs: number;
    champion_ape: number | null; challenger_ape: number | null; ape_days: number;
  }>(
    // The actual of each forecast day read straight from the packed history (migration 006): one
    // element per row, not the whole history through the sales view. A day past the end has not arrived.
    `WITH f AS (
       SELECT c.sku_id, c.ds, c.value AS champion, s.value AS challenger
       FROM forecasts c JOIN shadow_forecasts s USING (environment, run_id, sku_id, ds)
       WHERE c.environment = $1 AND c.run_id = ANY($2)
     ), a AS (
       SELECT f.*, COALESCE(sales_qty(substr(h.qty, (f.ds - DATE '2000-01-01' - h.first_day) * 8 + 1, 8)), 0) AS qty
       FROM f JOIN sales_history h ON h.sku_id = f.sku_id
       WHERE f.ds - DATE '2000-01-01' - h.first_day BETWEEN 0 AND length(h.qty) / 8 - 1
     ), cls AS (
       SELECT DISTINCT ON (sku_id) sku_id, demand_class FROM shadow_accuracy WHERE environment = $1 AND run_id = ANY($2) ORDER BY sku_id, run_id DESC
     )
     SELECT a.sku_id, cls.demand_class, count(*)::int AS days, sum(a.qty) AS actual,
       sum(abs(a.champion - a.qty)) AS champion_abs, sum(abs(a.challenger - a.qty)) AS challenger_abs,
       sum(abs(a.champion - a.qty) / a.qty) FILTER (WHERE a.qty > 0) AS champion_ape,
       sum(abs(a.challenger - a.qty) / a.qty) FILTER (WHERE a.qty > 0) AS challenger_ape,
       count(*) FILTER (WHERE a.qty > 0)::int AS ape_days
     FROM a LEFT JOIN cls ON cls.sku_id = a.sku_id
     GROUP BY a.sku_id, cls.demand_class ORDER BY a.sku_id`,
    [environment, runIds],
  );
  return rows.map((r) => ({
    sku: r.sku_id,
    demandClass: r.demand_class,
    days: r.days,
    actual: r.actual,
    champion: { absErr: r.champion_abs, apeSum: r.champion_ape ?? 0, apeDays: r.ape_days },
    challenger: { absErr: r.challenger_abs, apeSum: r.challenger_ape ?? 0, apeDays: r.ape_days },
  }));
}

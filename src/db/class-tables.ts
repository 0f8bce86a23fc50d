import type { Pool, PoolClient } from 'pg';
import type { ClassChoice, ClassModels } from '../forecasting/select';

type Queryable = Pool | PoolClient;

export interface ClassTable {
  id: string;
  environment: string;
  runDate: string;
  horizon: number;
  skus: number;
  choices: Record<string, ClassChoice>;
}

/** Stores a backtest's class table; a retried activity writes the same row again. */
export async function saveClassTable(c: Queryable, t: ClassTable): Promise<void> {
  await c.query(
    `INSERT INTO class_model_tables (id, environment, run_date, horizon, skus, choices) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET choices = EXCLUDED.choices, skus = EXCLUDED.skus`,
    [t.id, t.environment, t.runDate, t.horizon, t.skus, JSON.stringify(t.choices)],
  );
}

/** The environment's most recent class table, as the policy reads it (chosen model per class). */
export async function latestClassTable(c: Queryable, environment: string): Promise<{ id: string; classModels: ClassModels } | undefined> {
  const { rows } = await c.query<{ id: string; choices: Record<string, ClassChoice> }>(
    'SELECT id, choices FROM class_model_tables WHERE environment = $1 ORDER BY created_at DESC, id DESC LIMIT 1',
    [environment],
  );
  if (!rows.length) return undefined;
  return { id: rows[0].id, classModels: Object.fromEntries(Object.entries(rows[0].choices).map(([k, v]) => [k, v.chosen])) };
}

import { isDeepStrictEqual } from 'node:util';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from './pool';
import {
  CONFIG_KEY_NAMES,
  ConfigError,
  defaultsFromEnv,
  isConfigKey,
  parseChanges,
  parseEnvironment,
  type ConfigKey,
  type ConfigValue,
  type Environment,
  type ForecastConfig,
} from '../config/schema';
import type { RestoreConflict } from '../rollout/types';

export type { RestoreConflict };

export interface ConfigEntry {
  key: ConfigKey;
  value: ConfigValue;
  source: 'default' | 'database';
  version: number;
  updatedAt?: string;
  updatedBy?: string;
}

export interface ConfigChange {
  key: ConfigKey;
  old: ConfigValue | null;
  new: ConfigValue | null;
  version: number;
  /** The write changed nothing (same value already stored): no version or audit row was written. */
  unchanged?: boolean;
}

/** The effective configuration of an environment: database overrides on top of env/plan defaults. */
export async function getEnvironmentConfig(pool: Pool, environment: string): Promise<ForecastConfig> {
  const entries = await listConfig(pool, environment);
  return Object.fromEntries(entries.map((e) => [e.key, e.value])) as ForecastConfig;
}

export async function listConfig(pool: Pool, environment: string): Promise<ConfigEntry[]> {
  const env = parseEnvironment(environment);
  const defaults = defaultsFromEnv();
  const { rows } = await pool.query<{ key: string; value: ConfigValue; version: number; updated_at: Date; updated_by: string }>(
    'SELECT key, value, version, updated_at, updated_by FROM config_values WHERE environment = $1',
    [env],
  );
  const byKey = new Map(rows.map((r) => [r.key, r]));
  return CONFIG_KEY_NAMES.map((key) => {
    const row = byKey.get(key);
    return row
      ? { key, value: row.value, source: 'database', version: row.version, updatedAt: row.updated_at.toISOString(), updatedBy: row.updated_by }
      : { key, value: defaults[key], source: 'default', version: 0 };
  });
}

/**
 * Applies a change set to one environment atomically. Every value is validated first: one bad
 * value refuses the whole set and nothing is written. A value of null removes the override, so the
 * key falls back to its default (how a rollback restores a key that had no override). Writing the
 * value a key already holds changes nothing and is returned with `unchanged: true`.
 */
export async function setConfig(
  pool: Pool,
  environment: string,
  changes: Record<string, unknown>,
  actor: string,
  reason?: string,
): Promise<ConfigChange[]> {
  const env: Environment = parseEnvironment(environment);
  if (!actor || !actor.trim()) throw new ConfigError([{ key: 'actor', message: 'who made the change is required' }]);
  const unsets = Object.keys(changes).filter((k) => changes[k] === null);
  for (const k of unsets) if (!isConfigKey(k)) throw new ConfigError([{ key: k, message: 'unknown key' }]);
  const sets = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== null));
  const parsed: Partial<Record<ConfigKey, ConfigValue>> = Object.keys(sets).length ? parseChanges(sets) : {};
  if (!Object.keys(parsed).length && !unsets.length) parseChanges({});

  return withTransaction(pool, async (c) => {
    const defaults = defaultsFromEnv();
    const wanted: [ConfigKey, ConfigValue | null][] = [
      ...(Object.entries(parsed) as [ConfigKey, ConfigValue][]),
      ...unsets.map((k) => [k as ConfigKey, null] as [ConfigKey, null]),
    ];
    const out: ConfigChange[] = [];
    for (const [key] of sortedByKey(wanted)) await lockKey(c, env, key);
    for (const [key, value] of sortedByKey(wanted)) out.push(await writeKey(c, env, key, value, actor, reason, defaults));
    return out;
  });
}

// Sorted so two multi-key writers take the per-key locks in the same order (no deadlock).
const sortedByKey = <T>(entries: [ConfigKey, T][]) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Serialises writers of one (environment, key) until commit, also when no row exists yet
 * (first write, or after a rollback to the default), where FOR UPDATE would lock nothing.
 */
async function lockKey(c: PoolClient, env: Environment, key: ConfigKey): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`config:${env}:${key}`]);
}

async function currentOverride(c: PoolClient, env: Environment, key: ConfigKey): Promise<ConfigValue | null> {
  const cur = await c.query<{ value: ConfigValue }>('SELECT value FROM config_values WHERE environment = $1 AND key = $2', [env, key]);
  return cur.rows[0]?.value ?? null;
}

/** One key's write under its lock: a new version and an audit row, or nothing for a no-op. */
async function writeKey(
  c: PoolClient,
  env: Environment,
  key: ConfigKey,
  value: ConfigValue | null,
  actor: string,
  reason: string | undefined,
  defaults: ForecastConfig,
): Promise<ConfigChange> {
  const old = await currentOverride(c, env, key);
  const lastVersion = (
    await c.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM config_history WHERE environment = $1 AND key = $2', [env, key])
  ).rows[0].v;
  if (isDeepStrictEqual(old, value)) {
    // A no-op (the override already holds this value, or there is none to remove): no new version.
    return { key, old: old ?? defaults[key], new: value ?? defaults[key], version: lastVersion, unchanged: true };
  }
  const version = lastVersion + 1;
  if (value === null) {
    await c.query('DELETE FROM config_values WHERE environment = $1 AND key = $2', [env, key]);
  } else {
    await c.query(
      `INSERT INTO config_values (environment, key, value, version, updated_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (environment, key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version,
         updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [env, key, JSON.stringify(value), version, actor],
    );
  }
  await c.query(
    `INSERT INTO config_history (environment, key, old_value, new_value, version, changed_by, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [env, key, old === null ? null : JSON.stringify(old), value === null ? null : JSON.stringify(value), version, actor, reason ?? null],
  );
  return { key, old: old ?? defaults[key], new: value ?? defaults[key], version };
}

/**
 * A compare-and-set restore of a snapshot (a rollback, a release revert): under the keys' locks,
 * every key must still hold the override the release wrote (`expected`). If one does not, nothing
 * in this environment is written and the conflicts are returned; otherwise the snapshot is written
 * like `setConfig` (versions, audit). All or nothing per environment, like the apply it undoes.
 */
export async function restoreConfig(
  pool: Pool,
  environment: string,
  snapshot: Record<string, ConfigValue | null>,
  expected: Record<string, ConfigValue | null>,
  actor: string,
  reason?: string,
): Promise<{ restored: ConfigChange[]; conflicts: RestoreConflict[] }> {
  const env = parseEnvironment(environment);
  for (const k of Object.keys(snapshot)) if (!isConfigKey(k)) throw new ConfigError([{ key: k, message: 'unknown key' }]);
  const entries = sortedByKey(Object.entries(snapshot) as [ConfigKey, ConfigValue | null][]);
  return withTransaction(pool, async (c) => {
    for (const [key] of entries) await lockKey(c, env, key);
    const conflicts: RestoreConflict[] = [];
    for (const [key, value] of entries) {
      const live = await currentOverride(c, env, key);
      const wrote = key in expected ? expected[key] : null;
      if (isDeepStrictEqual(live, wrote)) continue;
      const last = await c.query('SELECT version, changed_by, changed_at FROM config_history WHERE environment = $1 AND key = $2 ORDER BY version DESC LIMIT 1', [env, key]);
      const h = last.rows[0];
      conflicts.push({ environment: env, key, wrote, live, snapshot: value, version: h?.version ?? 0, changedBy: h?.changed_by ?? null, changedAt: h ? (h.changed_at as Date).toISOString() : null });
    }
    if (conflicts.length) return { restored: [], conflicts };
    const defaults = defaultsFromEnv();
    const restored: ConfigChange[] = [];
    for (const [key, value] of entries) restored.push(await writeKey(c, env, key, value, actor, reason, defaults));
    return { restored, conflicts };
  });
}

/** The database overrides of the given keys right now (null = no override): a rollback snapshot. */
export async function snapshotOverrides(pool: Pool, environment: string, keys: string[]): Promise<Record<string, ConfigValue | null>> {
  const env = parseEnvironment(environment);
  const { rows } = await pool.query<{ key: string; value: ConfigValue }>(
    'SELECT key, value FROM config_values WHERE environment = $1 AND key = ANY($2)',
    [env, keys],
  );
  const byKey = new Map(rows.map((r) => [r.key, r.value]));
  return Object.fromEntries(keys.map((k) => [k, byKey.has(k) ? (byKey.get(k) as ConfigValue) : null]));
}

export interface ConfigHistoryRow {
  id: number;
  environment: string;
  key: string;
  old: ConfigValue | null;
  new: ConfigValue | null;
  version: number;
  changedBy: string;
  reason: string | null;
  changedAt: string;
}

export async function configHistory(pool: Pool, environment: string, key?: string, limit = 50): Promise<ConfigHistoryRow[]> {
  const env = parseEnvironment(environment);
  if (key !== undefined && !isConfigKey(key)) throw new ConfigError([{ key, message: 'unknown key' }]);
  const { rows } = await pool.query(
    `SELECT id, environment, key, old_value, new_value, version, changed_by, reason, changed_at FROM config_history
     WHERE environment = $1 AND ($2::text IS NULL OR key = $2) ORDER BY id DESC LIMIT $3`,
    [env, key ?? null, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    environment: r.environment,
    key: r.key,
    old: r.old_value,
    new: r.new_value,
    version: r.version,
    changedBy: r.changed_by,
    reason: r.reason,
    changedAt: (r.changed_at as Date).toISOString(),
  }));
}

import { ConfigError, CONFIG_KEYS, isConfigKey, parseAssignments } from '../../config/schema';
import { listClaims } from '../../db/claims';
import { configHistory, listConfig, setConfig } from '../../db/config-store';
import { withDatabase } from '../services';


export async function configGet(key: string | undefined, opts: { env: string; json?: boolean }): Promise<void> {
  if (key !== undefined && !isConfigKey(key)) throw new ConfigError([{ key, message: 'unknown key' }]);
  const entries = await withDatabase((pool) => listConfig(pool, opts.env));
  const shown = key ? entries.filter((e) => e.key === key) : entries;
  if (opts.json) {
    console.log(JSON.stringify(key ? shown[0] : shown, null, 2));
    return;
  }
  for (const e of shown) {
    const origin = e.source === 'database' ? `v${e.version} by ${e.updatedBy} at ${e.updatedAt}` : 'default';
    console.log(`${e.key.padEnd(42)} ${String(e.value).padEnd(10)} ${origin}`);
  }
}

export async function configSet(assignments: string[], opts: { env: string; by: string; reason?: string }): Promise<void> {
  const changes = parseAssignments(assignments);
  const { applied, claims } = await withDatabase(async (pool) => ({ applied: await setConfig(pool, opts.env, changes, opts.by, opts.reason), claims: await listClaims(pool) }));
  for (const c of applied) {
    console.log(c.unchanged ? `${opts.env} ${c.key}: ${c.new} unchanged (v${c.version}, nothing written)` : `${opts.env} ${c.key}: ${c.old} -> ${c.new} (v${c.version})`);
    // A hand write is not blocked by a release's claim, but its owner should know: its rollback will leave this value.
    const owner = claims.find((x) => x.environment === opts.env && x.key === c.key);
    if (owner && !c.unchanged) console.log(`  note: ${c.key} in ${opts.env} is owned by the unfinished ${owner.kind} of ${owner.release}; its rollback will keep this value (compare-and-set) and report a conflict`);
  }
}

export async function configHistoryCommand(key: string | undefined, opts: { env: string; limit: number }): Promise<void> {
  const rows = await withDatabase((pool) => configHistory(pool, opts.env, key, opts.limit));
  if (!rows.length) console.log(`no changes recorded for ${opts.env}${key ? ` ${key}` : ''}`);
  for (const r of rows) {
    const fmt = (v: unknown, k: string) => (v === null ? `${CONFIG_KEYS[k as keyof typeof CONFIG_KEYS]?.default} (default)` : String(v));
    console.log(`${r.changedAt}  ${r.key} v${r.version}: ${fmt(r.old, r.key)} -> ${fmt(r.new, r.key)}  by ${r.changedBy}${r.reason ? ` (${r.reason})` : ''}`);
  }
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { CONFIG_KEY_NAMES } from '../../src/config/schema';
import { configHistory, setConfig } from '../../src/db/config-store';
import { createPool } from '../../src/db/pool';
import { freshDatabase, type TestDatabase } from '../helpers/env';

/** Integer keys whose rule accepts 100..10000, so a round can write two different values to each. */
const KEYS = CONFIG_KEY_NAMES.filter((k) => /BATCH_DELAY|POST_DEPLOY_DELAY|BATCH_SIZE|TOP_N|PATTERN_SKUS/.test(k));

async function historyOf(pool: Pool, env: string, key: string) {
  return (await configHistory(pool, env, key)).reverse();
}

describe('config writes under concurrency (two pools, PostgreSQL)', () => {
  let db: TestDatabase;
  let other: Pool;
  beforeAll(async () => {
    db = await freshDatabase();
    other = createPool(db.url);
    // Connected up front so the two writers' first statements race, not their connects.
    await Promise.all([db.pool.query('SELECT 1'), other.query('SELECT 1')]);
  });
  afterAll(async () => {
    await other?.end();
    await db?.drop();
  });

  it('two concurrent first writes of a key get distinct versions and a chained audit trail', async () => {
    expect(KEYS.length).toBeGreaterThanOrEqual(4);
    for (const env of ['staging', 'production']) {
      // First writes (no row), then again after a rollback to the default (no row again).
      for (const round of [0, 1]) {
        await Promise.all(
          KEYS.map((key) =>
            Promise.all([
              setConfig(db.pool, env, { [key]: 300 + round }, 'writer-a'),
              setConfig(other, env, { [key]: 400 + round }, 'writer-b'),
            ]),
          ),
        );
        for (const key of KEYS) {
          const h = (await historyOf(db.pool, env, key)).slice(round * 3);
          expect(h.map((r) => r.version)).toEqual([round * 3 + 1, round * 3 + 2]);
          // Unambiguous: the second change starts from the first one's value, and the stored value is the last.
          expect(h[0].old).toBeNull();
          expect(h[1].old).toEqual(h[0].new);
          expect(new Set([h[0].new, h[1].new])).toEqual(new Set([300 + round, 400 + round]));
          const { rows } = await db.pool.query('SELECT value, version FROM config_values WHERE environment = $1 AND key = $2', [env, key]);
          expect(rows[0]).toEqual({ value: h[1].new, version: round * 3 + 2 });
          if (round === 0) await setConfig(db.pool, env, { [key]: null }, 'rollback');
        }
      }
    }
  });

  it('a write of the value already stored changes nothing and writes no version', async () => {
    const key = KEYS[0];
    await setConfig(db.pool, 'staging', { [key]: 777 }, 'alice');
    const before = await db.pool.query('SELECT * FROM config_values WHERE environment = $1 AND key = $2', ['staging', key]);
    const historyBefore = await historyOf(db.pool, 'staging', key);
    const changes = await setConfig(other, 'staging', { [key]: '777' }, 'bob', 'same again');
    expect(changes).toEqual([{ key, old: 777, new: 777, version: historyBefore.at(-1)!.version, unchanged: true }]);
    expect((await db.pool.query('SELECT * FROM config_values WHERE environment = $1 AND key = $2', ['staging', key])).rows).toEqual(before.rows);
    expect(await historyOf(db.pool, 'staging', key)).toEqual(historyBefore);
    // Removing an override that is not there is a no-op too.
    await setConfig(db.pool, 'staging', { [key]: null }, 'alice');
    const afterUnset = await historyOf(db.pool, 'staging', key);
    expect((await setConfig(db.pool, 'staging', { [key]: null }, 'alice'))[0].unchanged).toBe(true);
    expect(await historyOf(db.pool, 'staging', key)).toEqual(afterUnset);
  });

  it('versions are unique per key: the database refuses a duplicate', async () => {
    const key = KEYS[1];
    await setConfig(db.pool, 'production', { [key]: 123 }, 'alice');
    const [last] = await configHistory(db.pool, 'production', key);
    await expect(
      db.pool.query(`INSERT INTO config_history (environment, key, new_value, version, changed_by) VALUES ('production', $1, '5', $2, 'x')`, [key, last.version]),
    ).rejects.toThrow(/config_history_env_key_version/);
  });

  it('the migration renumbers an ambiguous history left by the old race', async () => {
    const key = KEYS[2];
    const c = db.pool;
    await c.query('ALTER TABLE config_history DROP CONSTRAINT config_history_env_key_version');
    for (const t of ['config_values', 'config_history']) await c.query(`DELETE FROM ${t} WHERE environment = 'staging' AND key = $1`, [key]);
    await c.query(
      `INSERT INTO config_history (environment, key, old_value, new_value, version, changed_by) VALUES
       ('staging', $1, NULL, '300', 1, 'a'), ('staging', $1, '300', '400', 1, 'b')`,
      [key],
    );
    await c.query(`INSERT INTO config_values (environment, key, value, version, updated_by) VALUES ('staging', $1, '400', 1, 'b')`, [key]);
    await c.query(readFileSync(join(__dirname, '../../src/db/migrations/007_config_versions_unique.sql'), 'utf8'));
    expect((await historyOf(c, 'staging', key)).map((r) => [r.new, r.version])).toEqual([
      [300, 1],
      [400, 2],
    ]);
    expect((await c.query('SELECT version FROM config_values WHERE environment = $1 AND key = $2', ['staging', key])).rows[0].version).toBe(2);
  });
});

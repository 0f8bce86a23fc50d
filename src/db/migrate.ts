import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { withTransaction } from './pool';

const MIGRATIONS_DIR = join(__dirname, 'migrations');

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/** Applies src/db/migrations/NNN_name.sql in order, each in its own transaction; idempotent. */
export async function migrate(pool: Pool): Promise<MigrationResult> {
  await pool.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const done = new Set((await pool.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    if (done.has(file)) {
      result.alreadyApplied.push(file);
      continue;
    }
    const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
    await withTransaction(pool, async (c) => {
      // Serialises concurrent migrators (two workers starting at once); the second sees the row and skips.
      await c.query('LOCK TABLE schema_migrations IN EXCLUSIVE MODE');
      const again = await c.query('SELECT 1 FROM schema_migrations WHERE name = $1', [file]);
      if (again.rowCount) return;
      await c.query(sql);
      await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      result.applied.push(file);
    });
  }
  return result;
}

/** Migration files not yet applied (all of them on a database never migrated); for `neuro doctor`. */
export async function pendingMigrations(pool: Pool): Promise<string[]> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const table = await pool.query(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (!table.rows[0].present) return files;
  const done = new Set((await pool.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
  return files.filter((f) => !done.has(f));
}

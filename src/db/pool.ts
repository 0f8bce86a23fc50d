import { Pool, types, type PoolClient, type PoolConfig } from 'pg';

// DATE columns come back as 'YYYY-MM-DD' strings, not local-time Date objects.
types.setTypeParser(types.builtins.DATE, (v) => v);
// double precision and bigint aggregates come back as numbers.
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

export type Db = Pool;

export function createPool(connectionString: string, extra: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString, max: 8, idleTimeoutMillis: 10_000, ...extra });
  // An idle client's error (server restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => console.error(`[db] idle client error: ${err.message}`));
  // A checked-out client (inside withTransaction) whose server goes away emits 'error' as well as
  // failing its query; unheard, that event would crash the process (a worker, the API) on any
  // PostgreSQL restart. The query's rejection is the one report; the pool drops the dead client.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Runs fn in one transaction: commit on success, rollback on any error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Whether PostgreSQL answers (the health check). */
export async function databaseUp(pool: Pool): Promise<boolean> {
  return pool.query('SELECT 1').then(
    () => true,
    () => false,
  );
}

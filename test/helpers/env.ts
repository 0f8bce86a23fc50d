import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Client as PgClient, type Pool } from 'pg';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';

/** Per-test-file access to the services global-setup started. */

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run integration tests through jest (global-setup starts the services)`);
  return v;
}

export const testDatabaseServerUrl = () => required('TEST_DATABASE_URL');
export const testRedisUrl = () => required('TEST_REDIS_URL');
export const testTemporalAddress = () => required('TEST_TEMPORAL_ADDRESS');

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A new, migrated database on the test server, so test files never see each other's rows. */
export async function freshDatabase(): Promise<TestDatabase> {
  const server = testDatabaseServerUrl();
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new PgClient({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = server.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  const pool = createPool(url);
  await migrate(pool);
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const c = new PgClient({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestTemporal {
  client: TemporalClient;
  connection: Connection;
  nativeConnection: NativeConnection;
  taskQueue: string;
  close(): Promise<void>;
}

export async function testTemporal(): Promise<TestTemporal> {
  const address = testTemporalAddress();
  const connection = await Connection.connect({ address });
  const nativeConnection = await NativeConnection.connect({ address });
  return {
    client: new TemporalClient({ connection }),
    connection,
    nativeConnection,
    taskQueue: `test-${randomUUID()}`,
    async close() {
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/** The workflow bundle, built once per jest run (bundling takes seconds) and shared by test files. */
export async function testWorkflowBundle(): Promise<{ code: string }> {
  // Built once per `npm test` (global-setup sets TEST_RUN_ID) and shared by its test files.
  const file = process.env.TEST_RUN_ID ? join(tmpdir(), `neuro-workflow-bundle-${process.env.TEST_RUN_ID}.js`) : undefined;
  if (file && existsSync(file)) return { code: readFileSync(file, 'utf8') };
  // Loaded lazily so tests that need no workflows don't load every activity module.
  const { buildWorkflowBundle } = await import('../../src/workers/worker');
  const bundle = await buildWorkflowBundle();
  if (file) writeFileSync(file, bundle.code);
  return bundle;
}

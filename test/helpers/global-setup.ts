import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../../src/client/temporal-server';
import { startPostgres, startRedis } from './servers';

/**
 * Starts the real services once for all integration tests: a throwaway PostgreSQL and Redis
 * (unless DATABASE_URL / REDIS_URL are given) and a Temporal dev server (unless TEMPORAL_ADDRESS).
 * Test files read the addresses from TEST_* variables; each file makes its own database.
 */
export default async function globalSetup(): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  (globalThis as { __neuroStops?: typeof stops }).__neuroStops = stops;
  process.env.TEST_RUN_ID = randomUUID();
  stops.push(async () => rmSync(join(tmpdir(), `neuro-workflow-bundle-${process.env.TEST_RUN_ID}.js`), { force: true }));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (process.env.DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.DATABASE_URL;
  else {
    const pg = await startPostgres();
    stops.push(pg.stop);
    process.env.TEST_DATABASE_URL = pg.url;
  }
  if (process.env.REDIS_URL) process.env.TEST_REDIS_URL = process.env.REDIS_URL;
  else {
    const redis = await startRedis();
    stops.push(redis.stop);
    process.env.TEST_REDIS_URL = redis.url;
  }
  if (process.env.TEMPORAL_ADDRESS) process.env.TEST_TEMPORAL_ADDRESS = process.env.TEMPORAL_ADDRESS;
  else {
    const server = await startDevServer({ log });
    stops.push(server.stop);
    process.env.TEST_TEMPORAL_ADDRESS = server.address;
  }
  // Tests must never pick up a developer's running `neuro dev`.
  process.env.NEURO_IGNORE_DEV_STATE = '1';
}

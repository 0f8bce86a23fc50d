import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client as PgClient } from 'pg';
import { runDoctor, type Check } from '../../src/client/commands/doctor';
import { applySchedules } from '../../src/client/commands/schedules';
import { ensureSearchAttributes } from '../../src/client/temporal-server';
import { defaultsFromEnv, ENVIRONMENTS, type InfraSettings } from '../../src/config/schema';
import { createMemoryCache } from '../../src/cache';
import { createWorker, type NeuroWorker } from '../../src/workers/worker';
import { freshDatabase, testDatabaseServerUrl, testRedisUrl, testTemporal, testWorkflowBundle, type TestDatabase, type TestTemporal } from '../helpers/env';
import { freePort } from '../helpers/servers';

/** `neuro doctor` on a healthy stack, then with each part missing (in a namespace of this test's own). */

const NEURO = join(__dirname, '..', '..', 'bin', 'neuro.js');
const namespace = `neuro-doctor-${randomUUID().slice(0, 8)}`;
let t: TestTemporal;
let db: TestDatabase;
let healthy: InfraSettings;

const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]));

/** The CLI itself: exit code and its --json output, for the given infrastructure. */
async function cli(infra: InfraSettings): Promise<{ code: number; out: { ok: boolean; checks: Check[] } }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEURO_IGNORE_DEV_STATE: '1',
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_NAMESPACE: infra.temporalNamespace,
    DATABASE_URL: infra.databaseUrl,
    REDIS_URL: infra.redisUrl,
    NEURO_TASK_QUEUE: infra.taskQueue,
  };
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [NEURO, 'doctor', '--json'], { env });
    return { code: 0, out: JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: JSON.parse(e.stdout) };
  }
}

beforeAll(async () => {
  t = await testTemporal();
  db = await freshDatabase();
  await t.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  healthy = { temporalAddress: t.connection.options.address, temporalNamespace: namespace, databaseUrl: db.url, redisUrl: testRedisUrl(), taskQueue: t.taskQueue };
  // A new namespace takes a moment to be served.
  for (let i = 0; ; i++) {
    try {
      await t.connection.workflowService.describeNamespace({ namespace });
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

afterAll(async () => {
  await t?.close();
  await db?.drop();
});

test('a namespace without search attributes, schedules or workers: each named with its fix', async () => {
  const c = byName(await runDoctor(healthy));
  expect(c['temporal-server']).toMatchObject({ status: 'fail', detail: expect.stringContaining('search attributes missing: NeuroEnvironment') });
  expect(c['temporal-server'].fix).toContain('temporal operator search-attribute create --name NeuroEnvironment --type Keyword');
  for (const env of ENVIRONMENTS) expect(c[`schedules:${env}`]).toMatchObject({ status: 'warn', fix: `neuro schedules apply --env ${env}` });
  expect(c[`workers:${t.taskQueue}`]).toMatchObject({ status: 'fail', fix: expect.stringContaining('neuro worker --role workflows') });
  expect(c[`workers:${t.taskQueue}-forecast`]).toMatchObject({ status: 'fail', fix: expect.stringContaining('neuro worker --role forecast') });
  expect(c.postgresql.status).toBe('ok');
  expect(c.redis.status).toBe('ok');
});

describe('a healthy stack', () => {
  let worker: NeuroWorker;
  let running: Promise<void>;
  beforeAll(async () => {
    await ensureSearchAttributes(t.connection, namespace);
    const client = new Client({ connection: t.connection, namespace });
    for (const env of ENVIRONMENTS) await applySchedules(client, env, defaultsFromEnv(), t.taskQueue);
    worker = await createWorker({
      connection: t.nativeConnection, namespace, taskQueue: t.taskQueue, deps: { pool: db.pool, cache: createMemoryCache() }, workflowBundle: await testWorkflowBundle(),
    });
    running = worker.run();
    // Pollers show up once each worker has polled.
    for (let i = 0; i < 100; i++) {
      const c = byName(await runDoctor(healthy));
      if (c[`workers:${t.taskQueue}`].status === 'ok' && c[`workers:${t.taskQueue}-forecast`].status === 'ok') break;
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
  });

  it('every check ok, exit code 0', async () => {
    const { code, out } = await cli(healthy);
    expect(out.checks.filter((x) => x.status !== 'ok')).toEqual([]);
    expect(out.ok).toBe(true);
    expect(code).toBe(0);
    const c = byName(out.checks);
    expect(c.node.detail).toContain(`Node ${process.version}`);
    expect(c['temporal-cli'].detail).toMatch(/^temporal version .* at \//);
    expect(c[`workers:${t.taskQueue}-forecast`].detail).toMatch(/^\d+ polling \(forecast batches\)/);
  });

  it('PostgreSQL down, or not migrated: fails with the fix, exit code 1', async () => {
    const down = await cli({ ...healthy, databaseUrl: `postgres://postgres@127.0.0.1:${await freePort()}/x` });
    expect(down.code).toBe(1);
    expect(byName(down.out.checks).postgresql).toMatchObject({ status: 'fail', fix: 'start PostgreSQL or fix DATABASE_URL' });

    const admin = new PgClient({ connectionString: testDatabaseServerUrl() });
    await admin.connect();
    const name = `doctor_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const bare = byName(await runDoctor({ ...healthy, databaseUrl: testDatabaseServerUrl().replace(/\/[^/]*$/, `/${name}`) }));
      expect(bare.postgresql).toMatchObject({ status: 'fail', detail: expect.stringContaining('migrations not applied: 001_init.sql'), fix: 'neuro db migrate' });
    } finally {
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('Redis or Redis Cluster down: fails with the fix', async () => {
    const one = byName(await runDoctor({ ...healthy, redisUrl: `redis://127.0.0.1:${await freePort()}` }));
    expect(one.redis).toMatchObject({ status: 'fail', fix: 'start Redis or fix REDIS_URL' });
    const cluster = byName(await runDoctor({ ...healthy, redisUrl: `redis+cluster://127.0.0.1:${await freePort()}` }));
    expect(cluster.redis).toMatchObject({ status: 'fail', detail: expect.stringContaining('Redis Cluster at'), fix: 'start Redis Cluster or fix REDIS_CLUSTER_NODES' });
  });

  it('Temporal down: fails with the fix, exit code 1', async () => {
    const r = await cli({ ...healthy, temporalAddress: `127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(1);
    const c = byName(r.out.checks);
    expect(c['temporal-server']).toMatchObject({ status: 'fail', detail: expect.stringContaining('not reachable') });
    expect(c.postgresql.status).toBe('ok');
  });

  it('no worker on a task queue: fails naming the role to start', async () => {
    const c = byName(await runDoctor({ ...healthy, taskQueue: `nobody-${randomUUID()}` }));
    expect(Object.values(c).filter((x) => x.name.startsWith('workers:')).map((x) => x.status)).toEqual(['fail', 'fail']);
  });

  it('the Temporal CLI missing: fails with how to build it', async () => {
    const { code, out } = await (async () => {
      const saved = process.env.TEMPORAL_CLI_PATH;
      process.env.TEMPORAL_CLI_PATH = '/nonexistent/temporal';
      try {
        return await cli(healthy);
      } finally {
        if (saved === undefined) delete process.env.TEMPORAL_CLI_PATH;
        else process.env.TEMPORAL_CLI_PATH = saved;
      }
    })();
    expect(code).toBe(1);
    expect(byName(out.checks)['temporal-cli']).toMatchObject({ status: 'fail', detail: expect.stringContaining('/nonexistent/temporal') });
  });
});

import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { startForecastRun } from '../../src/client/starters';
import { testTemporal, type TestDatabase, type TestTemporal } from '../helpers/env';
import { workerProcesses, type WorkerProcesses } from '../helpers/worker-processes';
import { RUN_DATE, catalogueDatabase, forecastCounts } from './forecast-run.helpers';

/**
 * The deployment shape of docker-compose: one workflow worker process (role workflows) and two
 * forecast worker processes (role forecast) share one run; every SKU is forecast once, every batch
 * runs on a forecast worker, and both of them take batches.
 */

const SKUS = 360;
const BATCH = 30;

describe('worker processes by role share a run', () => {
  let db: TestDatabase;
  let t: TestTemporal;
  let workers: WorkerProcesses;

  beforeAll(async () => {
    db = await catalogueDatabase(SKUS, 365);
    t = await testTemporal();
    workers = await workerProcesses({ DATABASE_URL: db.url, TASK_QUEUE: t.taskQueue });
  });
  afterAll(async () => {
    workers?.stop();
    await t.close();
    await db.drop();
  });

  const startWorker = (role: string, env: Record<string, string> = {}) => workers.start({ ROLE: role, ...env });

  it('one workflow worker and two forecast workers: each SKU once, batches only on forecast workers, both busy', async () => {
    const workflows = await startWorker('workflows');
    // One batch slot each and two batches in flight: both forecast workers must take batches.
    const forecasters = await Promise.all([startWorker('forecast', { MAX_ACTIVITIES: '1' }), startWorker('forecast', { MAX_ACTIVITIES: '1' })]);
    const handle = await startForecastRun(
      t.client,
      { environment: 'staging', runDate: RUN_DATE, batchSize: BATCH, delayMs: 0, maxParallel: 2, policy: 'plan', accuracy: 'none', preload: false },
      t.taskQueue,
    );
    const r = await handle.result();
    for (const w of [workflows, ...forecasters]) w.kill('SIGTERM');
    expect(r).toMatchObject({ skus: SKUS, batches: SKUS / BATCH });

    const events = (await handle.fetchHistory()).events ?? [];
    const batchIds = new Set(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'forecastBatch').map((e) => Number(e.eventId)),
    );
    expect(batchIds.size).toBe(SKUS / BATCH); // no batch scheduled twice
    const starters = events
      .filter((e) => e.activityTaskStartedEventAttributes && batchIds.has(Number(e.activityTaskStartedEventAttributes.scheduledEventId)))
      .map((e) => e.activityTaskStartedEventAttributes!.identity);
    // Worker identity is pid@host (the SDK's default).
    const id = (c: ChildProcess) => `${c.pid}@${hostname()}`;
    expect(new Set(starters)).toEqual(new Set(forecasters.map(id)));
    expect(starters).not.toContain(id(workflows));
    // Workflow tasks ran on the workflow worker only.
    const wfTaskWorkers = new Set(events.filter((e) => e.workflowTaskStartedEventAttributes).map((e) => e.workflowTaskStartedEventAttributes!.identity));
    expect(wfTaskWorkers).toEqual(new Set([id(workflows)]));

    const { perSku } = await forecastCounts(db, handle.workflowId);
    expect(perSku.size).toBe(SKUS);
    expect([...perSku.values()].every((n) => n === 7)).toBe(true);
    const batches = (await db.pool.query('SELECT attempt FROM forecast_batches WHERE run_id = $1', [handle.workflowId])).rows;
    expect(batches).toHaveLength(SKUS / BATCH);
    expect(batches.every((b) => b.attempt === 1)).toBe(true);
  });
});

import { temporal } from '@temporalio/proto';
import { startForecastRun } from '../../src/client/starters';
import { testTemporal, type TestDatabase, type TestTemporal } from '../helpers/env';
import { workerProcesses, type WorkerProcesses } from '../helpers/worker-processes';
import { RUN_DATE, catalogueDatabase, forecastCounts, recordHistory, waitUntil } from './forecast-run.helpers';

/**
 * SIGKILL the only worker while a batch is running, start another: the run completes, every SKU is
 * forecast exactly once, and batches finished before the crash are not redone.
 */

const SKUS = 480;
const BATCH = 120;

describe('forecastRun survives a worker crash', () => {
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

  it('completes on a new worker after SIGKILL mid-batch, each SKU forecast once, finished batches not redone', async () => {
    const first = await workers.start();
    const handle = await startForecastRun(
      t.client,
      { environment: 'staging', runDate: RUN_DATE, batchSize: BATCH, delayMs: 300, policy: 'backtest-best', accuracy: 'none', preload: false },
      t.taskQueue,
    );
    const batchesTotal = SKUS / BATCH;

    // Kill once at least one batch is recorded and the server shows the next one running.
    const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
    await waitUntil('a batch in flight after a finished one', async () => {
      const recorded = (await db.pool.query('SELECT count(*)::int AS n FROM forecast_batches WHERE run_id = $1', [handle.workflowId])).rows[0].n;
      if (recorded < 1 || recorded >= batchesTotal) return false;
      const d = await handle.describe();
      return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'forecastBatch' && a.state === STARTED);
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    // The server still holds a batch as started by the dead worker (or, once its heartbeat timed
    // out, as a retry) unless that batch finished and was reported in the moment between the check
    // and the kill: then the kill fell between batches.
    const killedMidBatch = ((await handle.describe()).raw.pendingActivities ?? []).some(
      (a) => a.activityType?.name === 'forecastBatch' && (a.state === STARTED || (a.attempt ?? 1) >= 2),
    );
    const beforeCrash = (
      await db.pool.query('SELECT batch_index, attempt, finished_at FROM forecast_batches WHERE run_id = $1 ORDER BY batch_index', [handle.workflowId])
    ).rows;
    expect(beforeCrash.length).toBeGreaterThanOrEqual(1);

    const second = await workers.start();
    const r = await handle.result();
    second.kill('SIGTERM');

    expect(r).toMatchObject({ skus: SKUS, batches: batchesTotal });
    const { perSku } = await forecastCounts(db, handle.workflowId);
    expect(perSku.size).toBe(SKUS);
    expect([...perSku.values()].every((n) => n === 7)).toBe(true);
    const total = (await db.pool.query('SELECT count(*)::int AS n FROM forecasts WHERE run_id = $1', [handle.workflowId])).rows[0].n;
    expect(total).toBe(SKUS * 7);

    // One record per batch; those written before the crash are untouched (same attempt, same time).
    const after = (
      await db.pool.query('SELECT batch_index, attempt, finished_at FROM forecast_batches WHERE run_id = $1 ORDER BY batch_index', [handle.workflowId])
    ).rows;
    expect(after.map((b) => b.batch_index)).toEqual(Array.from({ length: batchesTotal }, (_, i) => i));
    for (const b of beforeCrash) expect(after[b.batch_index]).toEqual(b);
    if (killedMidBatch) {
      // The batch in flight at the kill was retried on the new worker (attempt >= 2), unless the
      // killed worker had committed it, in which case the retry found it done and reused it.
      const inFlight = after[beforeCrash.length];
      expect(inFlight.attempt >= 2 || r.batchesReused === 1).toBe(true);
      expect(r.batchesReused).toBeLessThanOrEqual(1);
    } else {
      // Killed between batches: nothing was retried or reused.
      expect(r.batchesReused).toBe(0);
      expect(after.every((b) => b.attempt === 1)).toBe(true);
    }

    const run = (await db.pool.query('SELECT status, batches, skus FROM forecast_runs WHERE id = $1', [handle.workflowId])).rows[0];
    expect(run).toEqual({ status: 'completed', batches: batchesTotal, skus: SKUS });
    await recordHistory('forecast-run-crash', handle);
  });

  it('several worker processes on one task queue share one run', async () => {
    // One activity slot each and two batches in flight: both workers must take batches.
    const pair = await Promise.all([workers.start({ MAX_ACTIVITIES: '1' }), workers.start({ MAX_ACTIVITIES: '1' })]);
    const handle = await startForecastRun(
      t.client,
      { environment: 'staging', runDate: RUN_DATE, batchSize: 60, delayMs: 0, maxParallel: 2, policy: 'backtest-best', accuracy: 'none', preload: false },
      t.taskQueue,
    );
    const r = await handle.result();
    for (const w of pair) w.kill('SIGTERM');
    expect(r).toMatchObject({ skus: SKUS, batches: SKUS / 60 });
    const events = (await handle.fetchHistory()).events ?? [];
    const batchEventIds = new Set(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'forecastBatch').map((e) => Number(e.eventId)),
    );
    const identities = new Set(
      events
        .filter((e) => e.activityTaskStartedEventAttributes && batchEventIds.has(Number(e.activityTaskStartedEventAttributes.scheduledEventId)))
        .map((e) => e.activityTaskStartedEventAttributes!.identity),
    );
    expect(identities.size).toBe(2);
    const { perSku } = await forecastCounts(db, handle.workflowId);
    expect(perSku.size).toBe(SKUS);
    expect([...perSku.values()].every((n) => n === 7)).toBe(true);
  });
});

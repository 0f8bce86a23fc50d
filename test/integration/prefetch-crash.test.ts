import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { createRedisCache, forecastKey } from '../../src/cache';
import type { ForecastCache } from '../../src/cache/types';
import { startPrefetch } from '../../src/client/starters';
import { freshDatabase, testRedisUrl, testTemporal, type TestDatabase, type TestTemporal } from '../helpers/env';
import { workerProcesses, type WorkerProcesses } from '../helpers/worker-processes';
import { logQueries, seedRun, skuIds } from './cache-fixtures';
import { waitUntil } from './forecast-run.helpers';

/**
 * SIGKILL the only worker while a prefetch is warming keys, start another: the prefetch activity
 * heartbeats, so the server notices the dead worker after the heartbeat timeout (seconds) and the
 * retry on the new worker warms every key; without heartbeats it waited out the 2-minute
 * start-to-close timeout (past the peak the prefetch prepares for).
 */

const SKUS = skuIds(600);
const PATTERN_HORIZONS = [14, 21, 28];
const { PENDING_ACTIVITY_STATE_STARTED } = temporal.api.enums.v1.PendingActivityState;
const { TIMEOUT_TYPE_HEARTBEAT } = temporal.api.enums.v1.TimeoutType;

let db: TestDatabase;
let t: TestTemporal;
let cache: ForecastCache;
let workers: WorkerProcesses;
const prefix = `t-${randomUUID()}:`;

beforeAll(async () => {
  db = await freshDatabase();
  t = await testTemporal();
  cache = await createRedisCache(testRedisUrl(), { keyPrefix: prefix, log: () => undefined });
  workers = await workerProcesses({ DATABASE_URL: db.url, TASK_QUEUE: t.taskQueue, REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix });
  await seedRun(db.pool, 'production', 'crash-run', SKUS);
  // Every SKU asked for at the default horizon and three others: a pattern expansion of 1,800 keys.
  await logQueries(db.pool, 'production', SKUS.flatMap((sku) => [7, ...PATTERN_HORIZONS].map((horizon) => ({ sku, horizon, n: 1 }))));
});
afterAll(async () => {
  workers?.stop();
  await cache?.close();
  await t?.close();
  await db?.drop();
});

it('a prefetch whose worker is killed mid-way is retried after the heartbeat timeout and warms every key', async () => {
  // Slow cache writes on the first worker: the prefetch is still warming when it is killed.
  const first = await workers.start({ CACHE_SET_DELAY_MS: '3000' });
  const handle = await startPrefetch(t.client, { environment: 'production', trigger: 'manual', topN: 20, includeRecent: false, patternSkus: SKUS.length }, t.taskQueue);
  await waitUntil('the prefetch activity running on the first worker', async () => {
    const d = await handle.describe();
    return (d.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'prefetchTopQueries' && a.state === PENDING_ACTIVITY_STATE_STARTED);
  });
  // The workflow must give the activity a heartbeat timeout, or a dead worker is only noticed after start-to-close (2 min).
  const scheduledEvent = ((await handle.fetchHistory()).events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'prefetchTopQueries');
  expect(Number(scheduledEvent?.activityTaskScheduledEventAttributes?.heartbeatTimeout?.seconds ?? 0)).toBeGreaterThan(0);
  // Another worker is polling already (as in production), so what is measured is the server noticing the loss.
  const second = await workers.start();
  await new Promise((r) => setTimeout(r, 1000));
  const mid = (await db.pool.query('SELECT status FROM prefetch_runs WHERE id = $1', [handle.workflowId])).rows[0];
  expect(mid).toEqual({ status: 'running' });
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const killedAt = Date.now();

  const r = await handle.result();
  const resultMs = Date.now() - killedAt;
  second.kill('SIGTERM');

  expect(r).toMatchObject({ status: 'completed', runId: 'crash-run' });
  const patternKeys = SKUS.flatMap((sku) => PATTERN_HORIZONS.map((h) => forecastKey('production', sku, h)));
  expect((await cache.mget(patternKeys)).filter((v) => v === null)).toHaveLength(0);
  const row = (await db.pool.query('SELECT status, keys_warmed FROM prefetch_runs WHERE id = $1', [handle.workflowId])).rows[0];
  expect(row).toEqual({ status: 'completed', keys_warmed: r.keysWarmed });

  // The completed attempt is a retry, and what ended the first attempt was the heartbeat timeout.
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'prefetchTopQueries')!;
  const started = events.find((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(scheduled.eventId))!;
  expect(started.activityTaskStartedEventAttributes!.attempt).toBeGreaterThanOrEqual(2);
  expect(started.activityTaskStartedEventAttributes!.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(TIMEOUT_TYPE_HEARTBEAT);
  // Reported, not asserted (no timed assertions): when the retry finished warming, and when the workflow returned.
  const completed = events.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(scheduled.eventId))!;
  const warmedMs = Number(completed.eventTime!.seconds) * 1000 + Math.round((completed.eventTime!.nanos ?? 0) / 1e6) - killedAt;
  process.stderr.write(`prefetch-crash: worker SIGKILLed mid-prefetch; retry done warming ${(warmedMs / 1000).toFixed(1)} s later, workflow result ${(resultMs / 1000).toFixed(1)} s later\n`);
});

import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { NeuroWorker as Worker } from '../../src/workers/worker';
import { createMemoryCache } from '../../src/cache';
import type { ForecastCache } from '../../src/cache/types';
import { addDays } from '../../src/db/forecasts';
import { generateIntoDatabase } from '../../src/db/catalogue';
import { createWorker } from '../../src/workers/worker';
import { freshDatabase, testTemporal, testWorkflowBundle, type TestDatabase, type TestTemporal } from '../helpers/env';

/** Shared set-up of the forecastRun integration tests: a fresh database with a small catalogue, a worker. */
export { recordHistory } from '../helpers/histories';

export const RUN_DATE = '2025-03-01';

export interface Stack {
  db: TestDatabase;
  temporal: TestTemporal;
  cache: ForecastCache;
  worker?: Worker;
  stop(): Promise<void>;
}

export async function catalogueDatabase(skus: number, days = 120): Promise<TestDatabase> {
  const db = await freshDatabase();
  await generateIntoDatabase(db.pool, { skus, days, seed: 7, end: addDays(RUN_DATE, -1) });
  return db;
}

/** Database + Temporal; with `worker: true` also an in-process worker on the test's task queue. */
export async function startStack(opts: { skus: number; days?: number; worker?: boolean }): Promise<Stack> {
  const db = await catalogueDatabase(opts.skus, opts.days);
  const t = await testTemporal();
  const cache = createMemoryCache();
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  if (opts.worker !== false) {
    worker = await createWorker({
      connection: t.nativeConnection,
      namespace: 'default',
      taskQueue: t.taskQueue,
      deps: { pool: db.pool, cache },
      workflowBundle: await testWorkflowBundle(),
    });
    running = worker.run();
  }
  return {
    db,
    temporal: t,
    cache,
    worker,
    async stop() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await t.close();
      await db.drop();
    },
  };
}

const E = temporal.api.enums.v1.EventType;
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export const eventMs = (e: HistoryEvent): number => {
  const t = e.eventTime!;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
};
const durationMs = (d: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(d?.seconds ?? 0) * 1000 + Math.round((d?.nanos ?? 0) / 1e6);

export async function historyEvents(handle: WorkflowHandle): Promise<HistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** Durable timers in order: requested length and server times of start and fire. */
export function timers(events: HistoryEvent[]): { ms: number; startedAt: number; firedAt?: number }[] {
  const byId = new Map<string, { ms: number; startedAt: number; firedAt?: number }>();
  for (const e of events) {
    if (e.eventType === E.EVENT_TYPE_TIMER_STARTED) {
      const a = e.timerStartedEventAttributes!;
      byId.set(a.timerId!, { ms: durationMs(a.startToFireTimeout), startedAt: eventMs(e) });
    } else if (e.eventType === E.EVENT_TYPE_TIMER_FIRED) {
      const t = byId.get(e.timerFiredEventAttributes!.timerId!);
      if (t) t.firedAt = eventMs(e);
    }
  }
  return [...byId.values()];
}

/** forecastBatch activities: scheduled and completed server times, in schedule order. */
export function batchActivities(events: HistoryEvent[]): { scheduledAt: number; completedAt?: number; eventId: number }[] {
  const byId = new Map<number, { scheduledAt: number; completedAt?: number; eventId: number }>();
  for (const e of events) {
    if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === 'forecastBatch') {
      byId.set(Number(e.eventId), { scheduledAt: eventMs(e), eventId: Number(e.eventId) });
    } else if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const a = byId.get(Number(e.activityTaskCompletedEventAttributes!.scheduledEventId));
      if (a) a.completedAt = eventMs(e);
    }
  }
  return [...byId.values()];
}

export function signals(events: HistoryEvent[]): { name: string; eventId: number; at: number }[] {
  return events
    .filter((e) => e.eventType === E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    .map((e) => ({ name: e.workflowExecutionSignaledEventAttributes!.signalName!, eventId: Number(e.eventId), at: eventMs(e) }));
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows per SKU of a run, and the distinct dates. */
export async function forecastCounts(db: TestDatabase, runId: string) {
  const perSku = await db.pool.query<{ sku_id: string; n: number }>(
    'SELECT sku_id, count(*)::int AS n FROM forecasts WHERE run_id = $1 GROUP BY sku_id',
    [runId],
  );
  const dates = await db.pool.query<{ ds: string }>('SELECT DISTINCT ds FROM forecasts WHERE run_id = $1 ORDER BY ds', [runId]);
  return { perSku: new Map(perSku.rows.map((r) => [r.sku_id, r.n])), dates: dates.rows.map((r) => r.ds) };
}

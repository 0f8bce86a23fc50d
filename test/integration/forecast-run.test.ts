import { WorkflowFailedError } from '@temporalio/client';
import { setConfig } from '../../src/db/config-store';
import { startForecastRun } from '../../src/client/starters';
import { addDays } from '../../src/db/forecasts';
import type { ForecastRunResult } from '../../src/workflows/forecast-run';
import { pauseSignal, progressQuery, resumeSignal } from '../../src/workflows/messages';
import { ENVIRONMENT, RUN_DATE as RUN_DATE_KEY, STATUS } from '../../src/workflows/search-attributes';
import {
  RUN_DATE,
  batchActivities,
  forecastCounts,
  historyEvents,
  recordHistory,
  signals,
  startStack,
  timers,
  waitUntil,
  type Stack,
} from './forecast-run.helpers';

const SKUS = 60;

describe('forecastRun on the dev server and PostgreSQL', () => {
  let s: Stack;
  let skuIds: string[];
  beforeAll(async () => {
    s = await startStack({ skus: SKUS });
    skuIds = (await s.db.pool.query<{ id: string }>('SELECT id FROM skus ORDER BY id')).rows.map((r) => r.id);
  });
  afterAll(() => s.stop());

  const start = (input: Parameters<typeof startForecastRun>[1]) => startForecastRun(s.temporal.client, { runDate: RUN_DATE, ...input }, s.temporal.taskQueue);

  it('forecasts every SKU for exactly its horizon, with durable timers between batches, then preloads, backtests and records the run', async () => {
    const delay = 200;
    const handle = await start({ environment: 'staging', batchSize: 10, delayMs: delay });
    const r: ForecastRunResult = await handle.result();
    const runId = handle.workflowId;

    expect(r).toMatchObject({ runId, skus: SKUS, batches: 6, batchSize: 10, horizon: 7, gaps: 5, totalDelayMs: 5 * delay, batchDelayMs: delay });
    const { perSku, dates } = await forecastCounts(s.db, runId);
    expect([...perSku.keys()].sort()).toEqual(skuIds);
    expect([...perSku.values()].every((n) => n === 7)).toBe(true);
    expect(dates).toEqual(Array.from({ length: 7 }, (_, i) => addDays(RUN_DATE, i)));
    expect(Object.values(r.modelCounts).reduce((a, b) => a + b, 0)).toBe(SKUS);

    // Timers are real: one TimerStarted per gap, and the batches are spread over at least (batches - 1) x delay.
    const events = await historyEvents(handle);
    const ts = timers(events);
    expect(ts.map((t) => t.ms)).toEqual([delay, delay, delay, delay, delay]);
    for (const t of ts) expect(t.firedAt! - t.startedAt).toBeGreaterThanOrEqual(delay - 1);
    const batches = batchActivities(events);
    expect(batches).toHaveLength(6);
    expect(batches[5].scheduledAt - batches[0].completedAt!).toBeGreaterThanOrEqual(5 * delay - 5);

    // Batch records, run record, the served run, the cache preload and the accuracy step.
    const recorded = await s.db.pool.query('SELECT batch_index, attempt, skus FROM forecast_batches WHERE run_id = $1 ORDER BY batch_index', [runId]);
    expect(recorded.rows).toEqual([0, 1, 2, 3, 4, 5].map((i) => ({ batch_index: i, attempt: 1, skus: 10 })));
    const run = (await s.db.pool.query('SELECT * FROM forecast_runs WHERE id = $1', [runId])).rows[0];
    expect(run).toMatchObject({ status: 'completed', environment: 'staging', run_date: RUN_DATE, skus: SKUS, batches: 6, batch_delay_ms: delay, total_delay_ms: 5 * delay, accuracy_source: 'backtest' });
    expect(run.peak_memory_pct).toBeGreaterThan(0);
    expect(run.peak_memory_pct).toBeCloseTo(r.peakMemoryPct, 6);
    expect(run.model_counts).toEqual(r.modelCounts);
    expect(run.duration_ms).toBeGreaterThanOrEqual(5 * delay);
    expect((await s.db.pool.query('SELECT run_id FROM current_forecast_run WHERE environment = $1', ['staging'])).rows[0].run_id).toBe(runId);
    expect(r.preload).toMatchObject({ keys: expect.any(Number) });
    expect((r.preload as { keys: number }).keys).toBeGreaterThan(0);
    const acc = await s.db.pool.query('SELECT count(*)::int AS n, avg(mape) AS mape, count(*) FILTER (WHERE mape > 25)::int AS outliers FROM sku_accuracy WHERE run_id = $1', [runId]);
    expect(acc.rows[0].n).toBe(SKUS);
    expect(r.mape).toBeCloseTo(acc.rows[0].mape, 6);
    expect(r.outlierCount).toBe(acc.rows[0].outliers);
    expect(run.mape).toBeCloseTo(r.mape!, 6);

    // Typed search attributes and memo, as the Web UI shows them.
    const d = await handle.describe();
    expect(d.typedSearchAttributes.get(STATUS)).toBe('completed');
    expect(d.typedSearchAttributes.get(ENVIRONMENT)).toBe('staging');
    expect(d.typedSearchAttributes.get(RUN_DATE_KEY)).toBe(RUN_DATE);
    expect(d.memo).toMatchObject({ skus: SKUS, batches: 6, batchSize: 10 });
    const listed = await waitUntil('the run to be listed by search attributes', async () => {
      const ids: string[] = [];
      for await (const w of s.temporal.client.workflow.list({ query: `NeuroEnvironment = "staging" AND NeuroRunDate = "${RUN_DATE}" AND NeuroStatus = "completed"` })) ids.push(w.workflowId);
      return ids.includes(runId) && ids;
    });
    expect(listed).toContain(runId);

    await recordHistory('forecast-run', handle);
    await recordHistory('forecast-run-preload', s.temporal.client.workflow.getHandle(`${runId}-preload`));
    await recordHistory('forecast-run-backtest', s.temporal.client.workflow.getHandle(`${runId}-backtest`));
  });

  it('reads STREAMING_BATCH_DELAY_MS before every gap, so a config change applies to the later gaps of a running run', async () => {
    await setConfig(s.db.pool, 'production', { STREAMING_BATCH_DELAY_MS: 1500 }, 'test', 'before the run');
    const handle = await start({ environment: 'production', batchSize: 10, accuracy: 'none', preload: false });
    // Change the value while the first gap's timer is running.
    await waitUntil('the first timer', async () => timers(await historyEvents(handle)).length >= 1);
    await setConfig(s.db.pool, 'production', { STREAMING_BATCH_DELAY_MS: 50 }, 'test', 'rollback mid-run');
    const r = await handle.result();
    const ts = timers(await historyEvents(handle));
    expect(ts.map((t) => t.ms)).toEqual([1500, 50, 50, 50, 50]);
    expect(r.totalDelayMs).toBe(1500 + 4 * 50);
    expect(r.batchDelayMs).toBe(50);
    await recordHistory('forecast-run-config-change', handle);
  });

  it('pause holds the next batches until resume; progress reports it', async () => {
    const handle = await start({ environment: 'staging', batchSize: 10, delayMs: 300, accuracy: 'none', preload: false });
    await waitUntil('the first batch', async () => (await handle.query(progressQuery)).batchesDone >= 1);
    await handle.signal(pauseSignal, { by: 'test', reason: 'hold' });
    const paused = await waitUntil('paused progress', async () => {
      const p = await handle.query(progressQuery);
      return p.paused && p;
    });
    expect(paused.status).toBe('paused');
    // Long enough for several batches had the run not been paused (delay 300 ms, batches take ms).
    await new Promise((r) => setTimeout(r, 1500));
    const held = await handle.query(progressQuery);
    expect(held.batchesDone).toBeLessThan(6);
    expect((await handle.describe()).typedSearchAttributes.get(STATUS)).toBe('paused');
    await handle.signal(resumeSignal, { by: 'test' });
    const r = await handle.result();
    expect(r.skus).toBe(SKUS);

    // No batch was scheduled between the pause and resume signals.
    const events = await historyEvents(handle);
    const [pause, resume] = signals(events);
    expect([pause.name, resume.name]).toEqual(['pause', 'resume']);
    const between = batchActivities(events).filter((b) => b.eventId > pause.eventId && b.eventId < resume.eventId);
    expect(between).toEqual([]);
    expect((await forecastCounts(s.db, handle.workflowId)).perSku.size).toBe(SKUS);
    await recordHistory('forecast-run-pause', handle);
  });

  it('continues as new to bound history and runs batches in parallel, still forecasting each SKU once', async () => {
    const handle = await start({ environment: 'staging', batchSize: 7, delayMs: 0, maxParallel: 3, batchesPerExecution: 4, accuracy: 'latest', preload: false });
    const r = await handle.result();
    expect(r).toMatchObject({ skus: SKUS, batches: 9, executions: 3, gaps: 8, totalDelayMs: 0 });
    const { perSku } = await forecastCounts(s.db, handle.workflowId);
    expect(perSku.size).toBe(SKUS);
    expect([...perSku.values()].every((n) => n === 7)).toBe(true);
    const recorded = await s.db.pool.query('SELECT count(*)::int AS n FROM forecast_batches WHERE run_id = $1', [handle.workflowId]);
    expect(recorded.rows[0].n).toBe(9);
    // The latest stored backtest (the first test's accuracy step) supplies the accuracy.
    expect(r.accuracySource).toBe('latest');
    expect(r.mape).not.toBeNull();
    await recordHistory('forecast-run-continued', handle);
  });

  it('forecasts only the given SKU subset; peak memory % is against MEMORY_LIMIT_MB when set', async () => {
    await setConfig(s.db.pool, 'staging', { MEMORY_LIMIT_MB: 4096 }, 'test');
    const subset = [skuIds[3], skuIds[17], skuIds[42]];
    const handle = await start({ environment: 'staging', skus: subset, delayMs: 0, accuracy: 'none', preload: false });
    const r = await handle.result();
    await setConfig(s.db.pool, 'staging', { MEMORY_LIMIT_MB: null }, 'test');
    expect(r).toMatchObject({ skus: 3, batches: 1 });
    expect(r.peakRssMb).toBeGreaterThan(0);
    expect(r.peakMemoryPct).toBeCloseTo((100 * r.peakRssMb) / 4096, 6);
    expect([...(await forecastCounts(s.db, handle.workflowId)).perSku.keys()].sort()).toEqual([...subset].sort());
  });

  describe('bad input fails fast with a clear error and writes nothing', () => {
    const rowsFor = async (runId: string) => {
      const q = (sql: string) => s.db.pool.query(sql, [runId]).then((x) => x.rows[0].n as number);
      return {
        runs: await q('SELECT count(*)::int AS n FROM forecast_runs WHERE id = $1'),
        batches: await q('SELECT count(*)::int AS n FROM batch_skus WHERE run_id = $1'),
        forecasts: await q('SELECT count(*)::int AS n FROM forecasts WHERE run_id = $1'),
      };
    };
    const failure = async (args: Record<string, unknown>) => {
      const workflowId = `bad-input-${Math.random().toString(16).slice(2)}`;
      const handle = await s.temporal.client.workflow.start('forecastRun', { taskQueue: s.temporal.taskQueue, workflowId, args: [{ runDate: RUN_DATE, ...args }] });
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const events = await historyEvents(handle);
      // Failed on the first attempt: the validating activity was not retried.
      const attempts = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(attempts).toEqual([1]);
      expect(await rowsFor(workflowId)).toEqual({ runs: 0, batches: 0, forecasts: 0 });
      return (err as WorkflowFailedError).cause?.message ?? '';
    };

    it('unknown environment', async () => {
      expect(await failure({ environment: 'nowhere' })).toMatch(/environment.*unknown environment "nowhere"/);
    });
    it('batch size 0', async () => {
      expect(await failure({ environment: 'staging', batchSize: 0 })).toMatch(/batchSize: 0 refused: must be whole number, 1\.\.100000/);
    });
    it('unknown SKUs in the subset', async () => {
      expect(await failure({ environment: 'staging', skus: [skuIds[0], 'SKU-NOPE'] })).toMatch(/skus: unknown SKU SKU-NOPE/);
    });
    it('a negative delay', async () => {
      expect(await failure({ environment: 'staging', delayMs: -5 })).toMatch(/delayMs: -5 refused/);
    });
    it('startForecastRun refuses an unknown environment before starting anything', async () => {
      await expect(start({ environment: 'prod' })).rejects.toThrow(/unknown environment "prod"/);
    });
  });
});

import { WorkflowFailedError } from '@temporalio/client';
import { startBacktest } from '../../src/client/starters';
import { startDateFor } from '../../src/db/catalogue';
import { addDays } from '../../src/db/forecasts';
import { backtestCatalogue, generateCatalogue } from '../../src/forecasting';
import { RUN_DATE, startStack, type Stack } from './forecast-run.helpers';

const SKUS = 50;
const DAYS = 120;

describe('backtest workflow on the database histories', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ skus: SKUS, days: DAYS });
    // A new SKU with three days of sales: too short to backtest, so it is counted as skipped.
    await s.db.pool.query(`INSERT INTO skus (id, kind) VALUES ('SKU-NEW', 'smooth')`);
    await s.db.pool.query(`INSERT INTO sales (sku_id, ds, qty) SELECT 'SKU-NEW', $1::date - i, 4 FROM generate_series(1, 3) i`, [RUN_DATE]);
  });
  afterAll(() => s.stop());

  it('stores per-SKU accuracy and returns the same summary as the engine on the same series', async () => {
    const handle = await startBacktest(s.temporal.client, { environment: 'staging', runDate: RUN_DATE, batchSize: 20, windows: 3, horizon: 7 }, s.temporal.taskQueue);
    const r = await handle.result();
    expect(r).toMatchObject({ backtestId: handle.workflowId, accuracyRunId: handle.workflowId, skus: SKUS, skipped: 1, batches: 3, windows: 3, horizon: 7 });

    const rows = await s.db.pool.query('SELECT sku_id, model, demand_class, mape, wape FROM sku_accuracy WHERE run_id = $1', [handle.workflowId]);
    expect(rows.rowCount).toBe(SKUS);
    expect(rows.rows.every((x) => x.model && x.demand_class)).toBe(true);
    const byMape = rows.rows.filter((x) => x.mape !== null).sort((a, b) => b.mape - a.mape);
    const outliers = byMape.filter((x) => x.mape > r.outlierThreshold);
    expect(r.outlierCount).toBe(outliers.length);
    expect(r.outlierSkus).toEqual(outliers.slice(0, 20).map((x) => x.sku_id));

    // The same series straight from the generator, through the engine's catalogue backtest.
    const start = startDateFor(DAYS, addDays(RUN_DATE, -1));
    const engine = await backtestCatalogue(generateCatalogue({ skus: SKUS, days: DAYS, seed: 7, start }), { horizon: 7, windows: 3, keepSkus: false });
    expect(r.mape).toBeCloseTo(engine.summary.mape, 9);
    expect(r.wape).toBeCloseTo(engine.summary.wape, 9);
    expect(r.mase).toBeCloseTo(engine.summary.mase, 9);
    expect(r.modelCounts).toEqual(engine.summary.models);
  });

  it.each([
    [{ windows: 0 }, /windows: 0 refused/],
    [{ model: 'Oracle' }, /model: "Oracle" refused: unknown model/],
    [{ environment: 'qa' }, /unknown environment "qa"/],
  ])('refuses bad input %j at once, writing nothing', async (bad, message) => {
    const workflowId = `bad-backtest-${Math.random().toString(16).slice(2)}`;
    const handle = await s.temporal.client.workflow.start('backtest', {
      taskQueue: s.temporal.taskQueue,
      workflowId,
      args: [{ environment: 'staging', runDate: RUN_DATE, ...bad }],
    });
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toMatch(message);
    const n = (await s.db.pool.query('SELECT count(*)::int AS n FROM batch_skus WHERE run_id = $1', [workflowId])).rows[0].n;
    expect(n).toBe(0);
  });
});

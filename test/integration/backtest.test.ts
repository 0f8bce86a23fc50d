import { WorkflowFailedError } from '@temporalio/client';
import { startBacktest, startForecastRun } from '../../src/client/starters';
import { startDateFor } from '../../src/db/catalogue';
import { addDays } from '../../src/db/forecasts';
import { saveClassTable } from '../../src/db/class-tables';
import { backtestCatalogue, chooseClassModels, generateCatalogue, selectModel, type ClassChoice, type ClassModels, type SeriesInput } from '../../src/forecasting';
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

  it('class-best: a forecast run without a stored table uses the class defaults; a backtest stores one; the next run uses it and records which', async () => {
    const start = startDateFor(DAYS, addDays(RUN_DATE, -1));
    const series: SeriesInput[] = [
      ...generateCatalogue({ skus: SKUS, days: DAYS, seed: 7, start }),
      { id: 'SKU-NEW', start: addDays(RUN_DATE, -3), freqDays: 1, y: Float64Array.of(4, 4, 4) },
    ];
    const runWith = async () => {
      const h = await startForecastRun(s.temporal.client, { environment: 'production', runDate: RUN_DATE, batchSize: 20, delayMs: 0, policy: 'class-best', accuracy: 'none' }, s.temporal.taskQueue);
      const r = await h.result();
      const row = (await s.db.pool.query('SELECT class_table_id FROM forecast_runs WHERE id = $1', [r.runId])).rows[0];
      return { modelCounts: r.modelCounts, tableId: row.class_table_id as string | null };
    };
    const counts = (classModels?: ClassModels) => {
      const out: Record<string, number> = {};
      for (const x of series) {
        const m = selectModel(x, { policy: 'class-best', classModels }).model;
        out[m] = (out[m] ?? 0) + 1;
      }
      return out;
    };
    const before = await runWith();
    expect(before).toEqual({ modelCounts: counts(), tableId: null });

    const handle = await startBacktest(s.temporal.client, { environment: 'production', runDate: RUN_DATE, batchSize: 20, windows: 2, horizon: 7, policy: 'class-best' }, s.temporal.taskQueue);
    const r = await handle.result();
    // the same table as the engine chooses on the same histories
    const expected = chooseClassModels(series, { horizon: 7 });
    const stored = (await s.db.pool.query('SELECT environment, skus, choices FROM class_model_tables WHERE id = $1', [handle.workflowId])).rows[0];
    expect(stored).toMatchObject({ environment: 'production', skus: SKUS + 1 });
    for (const [cls, c] of Object.entries(expected)) {
      const got = stored.choices[cls];
      expect({ cls, chosen: got.chosen, pairs: got.pairs }).toEqual({ cls, chosen: c.chosen, pairs: c.pairs });
      if (c.pairs > 0) expect(got.chosenRmsse).toBeCloseTo(c.chosenRmsse, 9); // SKU order differs: sums in another order
    }
    expect(r.classTable?.tableId).toBe(handle.workflowId);
    expect(r.classTableId).toBeUndefined(); // its own batches had no table before it

    const classModels = Object.fromEntries(Object.entries(expected).map(([k, c]) => [k, c.chosen])) as ClassModels;
    const after = await runWith();
    expect(after).toEqual({ modelCounts: counts(classModels), tableId: handle.workflowId });

    // a later table whose choices differ from the defaults: the run serves them (a combination as Ensemble)
    const choice = (chosen: ClassChoice['chosen'], dflt: ClassChoice['default']): ClassChoice => ({ default: dflt, chosen, pairs: 9, defaultRmsse: 1, chosenRmsse: 0.5, se: 0.1 });
    const other = { smooth: choice({ members: ['SESOptimized', 'Naive'], combine: 'mean' }, 'Prophet'), intermittent: choice('CrostonSBA', 'Ensemble') };
    await saveClassTable(s.db.pool, { id: 'later-table', environment: 'production', runDate: RUN_DATE, horizon: 7, skus: 3, choices: other });
    const later = await runWith();
    const expectedCounts = counts({ smooth: other.smooth.chosen, intermittent: 'CrostonSBA' });
    expect(expectedCounts).not.toEqual(counts());
    expect(later).toEqual({ modelCounts: expectedCounts, tableId: 'later-table' });
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

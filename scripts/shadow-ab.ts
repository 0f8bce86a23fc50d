/**
 * The shadow A/B's numbers on a data set, as the plan's gates would see them: the catalogue (the
 * generated one, or a long CSV imported like `neuro data import`) in a throwaway PostgreSQL, one
 * forecast run with its accuracy backtest and a shadow challenger, through the same activities a
 * worker runs, then the comparison per demand class and overall.
 *
 *   node -r tsx/cjs scripts/shadow-ab.ts [--csv long.csv | --skus 700 --days 730] [--run-date D]
 *     [--challenger plan] [--horizon 7] [--windows 3] [--hybrid-off-champion true]
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import { createMemoryCache } from '../src/cache';
import { generateIntoDatabase, importCsv } from '../src/db/catalogue';
import { setConfig } from '../src/db/config-store';
import { addDays } from '../src/db/forecasts';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import type { PreparedBacktest, PreparedRun } from '../src/activities/forecast';
import type { PolicyFigures, ShadowComparison } from '../src/rollout/shadow';
import { startScratchDatabase } from '../test/helpers/servers';

const arg = (name: string, def?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};

async function main(): Promise<void> {
  const pg = await startScratchDatabase('ab');
  const pool = createPool(pg.url, { max: 4 });
  const acts = createActivities({ pool, cache: createMemoryCache() });
  const env = new MockActivityEnvironment({ attempt: 1 });
  const environment = 'staging' as const;
  const challenger = arg('challenger', 'plan')!;
  try {
    await migrate(pool);
    const csv = arg('csv');
    let runDate = arg('run-date');
    if (csv) await importCsv(pool, csv);
    else {
      runDate ??= '2025-03-01';
      await generateIntoDatabase(pool, { skus: Number(arg('skus', '700')), days: Number(arg('days', '730')), seed: 42, end: addDays(runDate, -1) });
    }
    runDate ??= addDays((await pool.query<{ last: string }>('SELECT max(ds)::text AS last FROM sales')).rows[0].last, 1);
    // P3's "today": Prophet for every SKU; the challenger is the hybrid.
    if (arg('hybrid-off-champion', 'true') === 'true') await setConfig(pool, environment, { ENABLE_HYBRID_FORECASTING: false }, 'shadow-ab');
    const horizon = Number(arg('horizon', '7'));
    const runId = 'shadow-ab';
    const p: PreparedRun = await env.run(acts.prepareForecastRun, { runId, environment, runDate, batchSize: 500, delayMs: 0, horizon, shadow: challenger });
    for (let b = 0; b < p.batches; b++) {
      await env.run(acts.forecastBatch, { runId, environment, runDate, batchIndex: b, horizon, selection: p.selection, memoryLimitMb: p.memoryLimitMb, shadow: p.shadow });
    }
    const bt: PreparedBacktest = await env.run(acts.prepareBacktest, { backtestId: `${runId}-bt`, environment, runDate, batchSize: 500, horizon, windows: Number(arg('windows', '3')), shadow: challenger });
    for (let b = 0; b < bt.batches; b++) {
      await env.run(acts.backtestBatch, { ...bt, accuracyRunId: runId, batchIndex: b });
    }
    const c: ShadowComparison = await env.run(acts.compareShadowRuns, { environment, runIds: [runId], challenger });
    const f = (x: number | null, d = 1) => (x === null ? 'n/a' : x.toFixed(d));
    const line = (name: string, a: PolicyFigures, b: PolicyFigures) =>
      `| ${name} | ${a.skus} | ${f(a.mape)} / ${f(b.mape)} | ${f(a.wape)} / ${f(b.wape)} | ${f(a.rmsse, 3)} / ${f(b.rmsse, 3)} | ${a.outlierCount} / ${b.outlierCount} | ${f(a.outlierMape)} / ${f(b.outlierMape)} |`;
    console.log(`${csv ?? 'generated catalogue'}: run date ${runDate}, h = ${horizon}, ${bt.windows} windows; champion ${c.champion} / challenger ${c.challenger}`);
    console.log('| class | SKUs | plan MAPE | WAPE | RMSSE | outliers | outlier MAPE |\n|---|---|---|---|---|---|---|');
    console.log(line('overall', c.overall.champion, c.overall.challenger));
    for (const [cls, x] of Object.entries(c.byClass)) console.log(line(cls, x.champion, x.challenger));
    console.log(JSON.stringify(c));
  } finally {
    await pool.end();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * Cost of the shadow A/B: the same catalogue forecast by the batch activity with and without a
 * challenger, side by side in one run (ABBA rounds, best of each side compared, since other load on
 * a shared machine can only add time).
 *
 *   npm run bench:shadow [-- --skus 30000 --batch-size 1000 --days 365 --rounds 2]
 *
 * The champion is Prophet for every SKU (ENABLE_HYBRID_FORECASTING=false, P3's "today"), the
 * challenger the plan's hybrid rule: where it picks Prophet too the one fit serves both, so the
 * shadow costs a second fit only for the SKUs where the two differ. The bound to check: the run
 * with the shadow takes at most the run without it plus the forecasting time of the SKUs the
 * shadow covers (here all of them), i.e. ratio <= 2. Starts its own PostgreSQL; the last line
 * printed is one JSON object.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createForecastActivities, type PreparedRun } from '../src/activities/forecast';
import { createMemoryCache } from '../src/cache';
import { writeSalesChunk, type SalesChunk } from '../src/db/catalogue';
import { setConfig } from '../src/db/config-store';
import { addDays } from '../src/db/forecasts';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { generateCatalogue } from '../src/forecasting/synthetic';
import { startScratchDatabase } from '../test/helpers/servers';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SKUS = Number(arg('skus', '30000'));
const BATCH = Number(arg('batch-size', '1000'));
const DAYS = Number(arg('days', '365'));
const ROUNDS = Number(arg('rounds', '2'));
const RUN_DATE = '2025-01-01';
const ENV = 'staging';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const log = (s: string) => console.log(s);

async function main(): Promise<void> {
  log(`shadow A/B cost: ${SKUS} SKUs, ${DAYS} days, batch ${BATCH}; champion Prophet (hybrid off), challenger "plan"`);
  const pg = await startScratchDatabase('bench');
  const pool = createPool(pg.url, { max: 8 });
  const activities = createForecastActivities({ pool, cache: createMemoryCache() });
  try {
    await migrate(pool);
    const t0 = performance.now();
    const start = addDays(RUN_DATE, -DAYS);
    let chunk: SalesChunk = { skus: [], rows: [] };
    for (const s of generateCatalogue({ skus: SKUS, days: DAYS, seed: 42, start })) {
      chunk.skus.push({ id: s.id, kind: s.kind });
      for (let d = 0; d < s.y.length; d++) chunk.rows.push({ sku: s.id, ds: addDays(start, d), qty: s.y[d] });
      if (chunk.rows.length >= 50_000) {
        await writeSalesChunk(pool, chunk);
        chunk = { skus: [], rows: [] };
      }
    }
    await writeSalesChunk(pool, chunk);
    await pool.query('VACUUM ANALYZE sales_history');
    await setConfig(pool, ENV, { ENABLE_HYBRID_FORECASTING: false }, 'bench');
    log(`catalogue ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const run = async (tag: string, shadow?: string) => {
      gc();
      const runId = `${tag}-${Math.random().toString(36).slice(2, 8)}`;
      const env = new MockActivityEnvironment({ attempt: 1 });
      const t = performance.now();
      const p: PreparedRun = await env.run(activities.prepareForecastRun, { runId, environment: ENV, runDate: RUN_DATE, batchSize: BATCH, delayMs: 0, ...(shadow ? { shadow } : {}) });
      for (let b = 0; b < p.batches; b++) {
        await env.run(activities.forecastBatch, { runId, environment: ENV, runDate: RUN_DATE, batchIndex: b, horizon: p.horizon, selection: p.selection, memoryLimitMb: p.memoryLimitMb, ...(p.shadow ? { shadow: p.shadow } : {}) });
      }
      return { runId, seconds: (performance.now() - t) / 1000 };
    };
    const without: number[] = [];
    const withShadow: number[] = [];
    let shadowRun = '';
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? ['plain', 'shadow'] : ['shadow', 'plain'];
      for (const side of order) {
        const r = await run(side, side === 'shadow' ? 'plan' : undefined);
        (side === 'shadow' ? withShadow : without).push(r.seconds);
        if (side === 'shadow') shadowRun = r.runId;
        log(`  round ${round} ${side.padEnd(6)} ${r.seconds.toFixed(2)} s`);
      }
    }
    const { rows } = await pool.query<{ own: number; skus: number }>(
      `SELECT count(DISTINCT s.sku_id) FILTER (WHERE s.model <> f.model)::int AS own, count(DISTINCT s.sku_id)::int AS skus
       FROM shadow_forecasts s JOIN forecasts f USING (environment, run_id, sku_id, ds) WHERE s.run_id = $1`,
      [shadowRun],
    );
    const ratio = Math.min(...withShadow) / Math.min(...without);
    const out = {
      skus: SKUS,
      withoutSeconds: without.map((x) => +x.toFixed(2)),
      withShadowSeconds: withShadow.map((x) => +x.toFixed(2)),
      ratio: +ratio.toFixed(3),
      shadowCoversSkus: rows[0].skus,
      shadowOwnFits: rows[0].own,
    };
    log(`with shadow / without: ${ratio.toFixed(3)}x (bound: 2x); the shadow needed its own fit for ${out.shadowOwnFits} of ${out.shadowCoversSkus} SKUs`);
    log(JSON.stringify(out));
  } finally {
    await pool.end();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

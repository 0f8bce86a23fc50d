/**
 * Cost of a cohort rollout's assignments at catalogue scale: the assignment of a cohort (snapshot
 * + write, one transaction) and the rollback that restores it, for cohorts from P3's top 5 up to
 * the whole catalogue, side by side with the rollback's config restore of P3's six keys, in one run.
 *
 *   npm run bench:cohort-restore [-- --skus 30000 --cohorts 5,300,3000,30000 --rounds 3]
 *
 * Half of each cohort had an assignment before (what the rollback must put back exactly). Starts
 * its own PostgreSQL; the last line printed is one JSON object.
 */
import { restoreConfig, setConfig } from '../src/db/config-store';
import { writeSalesChunk } from '../src/db/catalogue';
import { migrate } from '../src/db/migrate';
import { assignForRollout, restoreRolloutAssignments, writeAssignments } from '../src/db/model-assignments';
import { createPool } from '../src/db/pool';
import { getPlan } from '../src/rollout/plans';
import { startScratchDatabase } from '../test/helpers/servers';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SKUS = Number(arg('skus', '30000'));
const COHORTS = arg('cohorts', '5,300,3000,30000').split(',').map(Number);
const ROUNDS = Number(arg('rounds', '3'));
const ENV = 'production';
const log = (s: string) => console.log(s);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const pg = await startScratchDatabase('bench');
  const pool = createPool(pg.url, { max: 4 });
  try {
    await migrate(pool);
    const ids = Array.from({ length: SKUS }, (_, i) => `SKU-${i + 1}`);
    for (let i = 0; i < ids.length; i += 10_000) await writeSalesChunk(pool, { skus: ids.slice(i, i + 10_000).map((id) => ({ id, kind: null })), rows: [] });
    const changes = getPlan('v19.3-hybrid-ml').changes;
    log(`cohort assignments: ${SKUS} SKUs; cohorts ${COHORTS.join(', ')}; ${ROUNDS} rounds (median); config restore of ${Object.keys(changes).length} keys beside`);
    const results = [];
    let n = 0;
    for (const size of COHORTS) {
      const skus = ids.slice(0, size);
      // Half the cohort had its own assignment before the rollout.
      await writeAssignments(pool, { environment: ENV, changes: skus.filter((_, i) => i % 2 === 0).map((sku) => ({ sku, serves: 'CrostonSBA', cohort: 'pinned' })), by: 'ops' });
      const assign: number[] = [];
      const restore: number[] = [];
      const config: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const who = { workflowId: `rollout-bench-${++n}`, release: `bench-${n}`, environment: ENV };
        let t = performance.now();
        await assignForRollout(pool, { ...who, cohort: 'flagged-outliers', serves: 'plan', skus, by: 'bench', reason: 'bench' });
        assign.push(performance.now() - t);
        t = performance.now();
        const back = await restoreRolloutAssignments(pool, { ...who, by: 'bench', reason: 'bench' });
        restore.push(performance.now() - t);
        if (back.restored !== size) throw new Error(`restored ${back.restored} of ${size}`);
        await setConfig(pool, ENV, changes, 'bench');
        t = performance.now();
        await restoreConfig(pool, ENV, Object.fromEntries(Object.keys(changes).map((k) => [k, null])), changes, 'bench');
        config.push(performance.now() - t);
      }
      const r = { cohort: size, assignMs: +median(assign).toFixed(1), restoreMs: +median(restore).toFixed(1), configRestoreMs: +median(config).toFixed(1) };
      results.push({ ...r, restoreVsConfig: +(r.restoreMs / r.configRestoreMs).toFixed(1), restoreMsPerSku: +(r.restoreMs / size).toFixed(3) });
      log(`  cohort ${String(size).padStart(6)}: assign ${r.assignMs} ms, rollback restore ${r.restoreMs} ms (${(r.restoreMs / size).toFixed(3)} ms/SKU), config restore ${r.configRestoreMs} ms -> ${(r.restoreMs / r.configRestoreMs).toFixed(1)}x`);
      await writeAssignments(pool, { environment: ENV, changes: skus.filter((_, i) => i % 2 === 0).map((sku) => ({ sku, serves: null })), by: 'ops' });
    }
    log(JSON.stringify({ skus: SKUS, rounds: ROUNDS, results }));
  } finally {
    await pool.end();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * Time from a rollback request to the configuration restored in every environment the rollout
 * reached (plan target: < 1-2 minutes; ours: < 2 s). Real Temporal dev server and real PostgreSQL
 * (DATABASE_URL, else a throwaway server). Per trial: a rollout rehearsed without forecast cycles
 * is promoted to production, then `rollback` is sent as an Update, which answers once restored.
 *   node -r tsx/cjs bench/rollback.ts [trials]
 * Prints a table and, last, one JSON line.
 */
import { randomUUID } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { createMemoryCache } from '../src/cache';
import { startRollout } from '../src/client/starters';
import { startDevServer } from '../src/client/temporal-server';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { planToInput } from '../src/rollout/input';
import type { RolloutStatus } from '../src/rollout/types';
import { rollbackUpdate, statusQuery } from '../src/workflows/messages';
import type { rollout } from '../src/workflows/rollout';
import { buildWorkflowBundle, createWorker, installRuntimeLogger } from '../src/workers/worker';
import { startPostgres } from '../test/helpers/servers';
import { rosterTeam, signedRollback, signOffAndGo } from '../test/helpers/signers';

// The bench prints its own lines; the worker's INFO state changes would drown them.
installRuntimeLogger('WARN');

const KEY = 'STREAMING_BATCH_DELAY_MS';
const trials = Number(process.argv[2] ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const pg = process.env.DATABASE_URL ? undefined : await startPostgres();
  const pool = createPool(process.env.DATABASE_URL ?? pg!.url);
  await migrate(pool);
  await rosterTeam(pool); // sign-offs and the rollback are signed, as in production
  const server = await startDevServer({ log: () => undefined });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const taskQueue = `bench-rollback-${randomUUID()}`;
  const worker = await createWorker({ connection: native, namespace: 'default', taskQueue, deps: { pool, cache: createMemoryCache() }, workflowBundle: await buildWorkflowBundle() });
  const running = worker.run();
  const override = async (env: string) => (await pool.query('SELECT value FROM config_values WHERE environment = $1 AND key = $2', [env, KEY])).rows[0]?.value ?? null;

  const rows: { stage: string; clientMs: number; workflowMs: number }[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      for (const stage of ['soak', 'monitor'] as const) {
        const input = planToInput('v19.3-batch-delay', {
          release: `bench-${stage}-${i}-${randomUUID().slice(0, 8)}`,
          author: 'bench',
          cycles: 0,
          baselineCycles: 0,
          gates: [],
          soak: stage === 'soak' ? '1h' : '0s',
          monitor: '1h',
          postDeployPrefetch: false,
        });
        const h = client.workflow.getHandle<typeof rollout>(await startRollout(client, input, taskQueue));
        const until = async (pred: (s: RolloutStatus) => boolean) => {
          for (;;) {
            const s = await h.query(statusQuery);
            if (pred(s)) return s;
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        if (stage === 'soak') await until((s) => s.stage === 'soak' || s.stage === 'validate');
        else {
          await until((s) => s.stage === 'approval');
          await signOffAndGo(h, { reason: 'bench', acceptInconclusive: true });
          await until((s) => s.stage === 'monitor');
        }
        const t0 = performance.now();
        await h.executeUpdate(rollbackUpdate, { args: [signedRollback(h.workflowId, 'timing')] });
        const clientMs = performance.now() - t0;
        if ((await override('staging')) !== null || (await override('production')) !== null) throw new Error('config not restored');
        const done = await h.result();
        rows.push({ stage, clientMs, workflowMs: done.rollback!.durationMs! });
      }
    }
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await connection.close();
    await server.stop();
    await pool.end();
    await pg?.stop();
  }

  console.log('rollback: request -> config restored in every environment the rollout reached');
  console.log('stage    environments restored        client round trip   inside workflow');
  for (const r of rows) {
    console.log(`${r.stage.padEnd(8)} ${(r.stage === 'soak' ? 'staging' : 'production, staging').padEnd(28)} ${r.clientMs.toFixed(0).padStart(8)} ms ${String(r.workflowMs).padStart(12)} ms`);
  }
  const summary = (stage: string) => {
    const xs = rows.filter((r) => r.stage === stage);
    return { trials: xs.length, medianClientMs: Math.round(median(xs.map((r) => r.clientMs))), maxClientMs: Math.round(Math.max(...xs.map((r) => r.clientMs))), medianWorkflowMs: median(xs.map((r) => r.workflowMs)) };
  };
  const result = { bench: 'rollback', targetMs: 2000, midSoak: summary('soak'), afterPromotion: summary('monitor') };
  console.log(`after promotion: median ${result.afterPromotion.medianClientMs} ms vs target 2000 ms (${(2000 / result.afterPromotion.medianClientMs).toFixed(1)}x under)`);
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

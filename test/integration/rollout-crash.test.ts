import type { ChildProcess } from 'node:child_process';
import { setConfig } from '../../src/db/config-store';
import { confirmUpdate } from '../../src/workflows/messages';
import { rosterTeam, sign, signOffAndGo, TEAM } from '../helpers/signers';
import { workerProcesses, type WorkerProcesses } from '../helpers/worker-processes';
import { startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, start, untilStatus, waitFor } from './rollout.helpers';

jest.setTimeout(300_000);

describe('rollout survives a worker crash', () => {
  let stack: Stack;
  let worker: ChildProcess | undefined;
  let workers: WorkerProcesses | undefined;
  beforeAll(async () => {
    stack = await startStack({ skus: 24, worker: false });
    await setConfig(stack.db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: 0 }, 'test');
    await rosterTeam(stack.db.pool);
  });
  afterAll(async () => {
    workers?.stop();
    await stack?.stop();
  });

  it('a worker SIGKILLed mid-soak: a new worker continues the rollout where it was, applying nothing twice', async () => {
    workers = await workerProcesses({ DATABASE_URL: stack.db.url, TASK_QUEUE: stack.temporal.taskQueue });
    worker = await workers.start();
    const input = rehearsal({ soak: '30s', cycles: 2, forecast: { batchSize: 6, runDate: '2025-03-01' }, gates: [{ gate: 'peak-memory', comparator: '<', threshold: 62 }] });
    const h = await start(stack, input);
    // Between the two validation cycles (15 s apart): staging applied, the first cycle done and its
    // gates checked, a durable timer pending.
    await untilStatus(
      h,
      (s) => s.timeline.some((t) => t.event === 'validation-cycle-1 done') && s.timeline.at(-1)!.event.startsWith('gates staging'),
      'the first validation cycle',
    );
    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    expect(await override(stack.db.pool, 'staging', 'STREAMING_BATCH_DELAY_MS')).toBe(300);

    worker = await workers.start();
    const s = await untilStatus(h, (x) => x.stage === 'approval', 'the approval stage after the restart', 120_000);
    expect(s.timeline.filter((t) => t.event === 'applied to staging')).toHaveLength(1);
    expect(s.timeline.map((t) => t.event)).toEqual(expect.arrayContaining(['validation-cycle-2 done']));
    await signOffAndGo(h, { reason: 'after the crash' });
    // No cycle in the 1 s monitoring window: peak-memory has no production data, so it waits for a confirm.
    await untilStatus(h, (x) => x.state === 'awaiting-confirmation', 'the hold after monitoring');
    await h.executeUpdate(confirmUpdate, { args: [sign(h.workflowId, 'confirm', { by: 'lee', reason: 'the crash test measures staging only' }, TEAM.lee)] });
    const done = await h.result();
    expect(done.state).toBe('completed');
    // Each environment was changed exactly once by the rollout, despite the crash.
    const { rows } = await stack.db.pool.query(
      `SELECT environment, count(*)::int AS n FROM config_history WHERE key = 'STREAMING_BATCH_DELAY_MS' AND changed_by = $1 GROUP BY environment ORDER BY environment`,
      [`rollout:${input.release}`],
    );
    expect(rows).toEqual([
      { environment: 'production', n: 1 },
      { environment: 'staging', n: 1 },
    ]);
    const runs = await waitFor(async () => {
      const r = await stack.db.pool.query(`SELECT id FROM forecast_runs WHERE id LIKE $1 AND status = 'completed' ORDER BY id`, [`rollout-${input.release}-%`]);
      return r.rows.length ? r.rows.map((x) => x.id as string) : undefined;
    }, 'forecast runs');
    expect(runs).toEqual([`rollout-${input.release}-staging-validation-cycle-1`, `rollout-${input.release}-staging-validation-cycle-2`]);
  });
});

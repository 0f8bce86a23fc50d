import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { findTemporalCli } from '../../src/client/temporal-server';
import { setConfig } from '../../src/db/config-store';
import type { RolloutStatus } from '../../src/rollout/types';
import { rolloutCycleId } from '../../src/workflows/ids';
import { rollbackSignal } from '../../src/workflows/messages';
import { rosterTeam, signedRollback, signOffAndGo } from '../helpers/signers';
import { testTemporalAddress } from '../helpers/env';
import { workerProcesses, type WorkerProcesses } from '../helpers/worker-processes';
import { startStack, type Stack } from './forecast-run.helpers';
import { override, rehearsal, start, untilStatus, waitFor, type RolloutHandle } from './rollout.helpers';

/**
 * A rollback right after the rollout's worker is SIGKILLed: a new worker takes over and the
 * rollback, from the plain `temporal` CLI or the client, restores every environment the rollout
 * reached — in staging soak, in production monitoring, and while a child forecast cycle runs
 * (the child is cancelled, not waited for). Timing is bench/recovery.ts's job; these assert the
 * restoration and that nothing was applied twice.
 */

jest.setTimeout(300_000);
const KEY = 'STREAMING_BATCH_DELAY_MS';
const TEMPORAL = findTemporalCli() ?? 'temporal';
const run = promisify(execFile);

describe('rollback right after a worker crash', () => {
  let stack: Stack;
  let worker: ChildProcess | undefined;
  let workers: WorkerProcesses | undefined;

  beforeAll(async () => {
    // 60 SKUs in batches of 3 with staging's 300 ms gaps: a validation cycle runs for seconds.
    stack = await startStack({ skus: 60, worker: false });
    await setConfig(stack.db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: 0 }, 'test');
    await rosterTeam(stack.db.pool);
    workers = await workerProcesses({ DATABASE_URL: stack.db.url, TASK_QUEUE: stack.temporal.taskQueue });
    worker = await workers.start();
  });
  afterAll(async () => {
    workers?.stop();
    await stack?.stop();
  });

  /** SIGKILLs the worker (it ran the rollout and has it cached) and starts a new one. */
  async function crashAndReplace(): Promise<void> {
    const dead = worker!;
    const exited = new Promise((r) => dead.once('exit', r));
    dead.kill('SIGKILL');
    await exited;
    worker = await workers!.start();
  }

  const restored = (envs: string[]) =>
    waitFor(async () => {
      for (const e of envs) if ((await override(stack.db.pool, e, KEY)) !== null) return false;
      return true;
    }, `${KEY} restored in ${envs.join(' and ')}`, 60_000);

  async function expectRolledBack(h: RolloutHandle, envs: string[], release: string): Promise<RolloutStatus> {
    await restored(envs);
    const done = await h.result();
    expect(done.state).toBe('rolled-back');
    expect([...done.rollback!.restored].sort()).toEqual([...envs].sort());
    // Each environment changed once by the rollout and restored once by the rollback, despite the crash.
    const { rows } = await stack.db.pool.query(
      `SELECT environment, changed_by LIKE 'rollout:%' AS applied, count(*)::int AS n FROM config_history
       WHERE key = $1 AND (changed_by = $2 OR changed_by LIKE 'rollback:%') AND reason LIKE $3
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [KEY, `rollout:${release}`, `%${release}%`],
    );
    expect(rows).toEqual(envs.sort().flatMap((environment) => [{ environment, applied: false, n: 1 }, { environment, applied: true, n: 1 }]));
    return done;
  }

  it('in staging soak: the rollback from the plain temporal CLI restores staging', async () => {
    const input = rehearsal({ soak: '1h', cycles: 0, gates: [] });
    const h = await start(stack, input);
    await untilStatus(h, (s) => s.stage === 'validate', 'the soak');
    expect(await override(stack.db.pool, 'staging', KEY)).toBe(300);
    await crashAndReplace();
    await run(TEMPORAL, ['workflow', 'signal', '--address', testTemporalAddress(), '--workflow-id', h.workflowId, '--name', 'rollback', '--input', JSON.stringify(signedRollback(h.workflowId, 'worker crashed'))]);
    await expectRolledBack(h, ['staging'], input.release);
  });

  it('in production monitoring: the rollback signal restores production and staging', async () => {
    const input = rehearsal({ soak: '0s', monitor: '1h', cycles: 0, gates: [], postDeployPrefetch: false });
    const h = await start(stack, input);
    await untilStatus(h, (s) => s.stage === 'approval', 'the approval stage');
    await signOffAndGo(h, { reason: 'ok', acceptInconclusive: true });
    await untilStatus(h, (s) => s.stage === 'monitor', 'production monitoring');
    expect(await override(stack.db.pool, 'production', KEY)).toBe(300);
    await crashAndReplace();
    await h.signal(rollbackSignal, signedRollback(h.workflowId, 'worker crashed'));
    await expectRolledBack(h, ['production', 'staging'], input.release);
  });

  it('during a child forecast cycle: the rollback cancels the child and restores staging', async () => {
    const input = rehearsal({ soak: '1h', cycles: 1, gates: [], forecast: { batchSize: 3, runDate: '2025-03-01' } });
    const h = await start(stack, input);
    const childId = rolloutCycleId(h.workflowId, 'staging', 'validation-cycle-1');
    // The child has written some batches and has more to go.
    await waitFor(async () => {
      const { rows } = await stack.db.pool.query('SELECT count(*)::int AS n FROM forecast_batches WHERE run_id = $1', [childId]);
      return rows[0].n >= 2 && rows[0].n < 15;
    }, 'the child cycle half-way');
    await crashAndReplace();
    await h.signal(rollbackSignal, signedRollback(h.workflowId, 'crash mid-cycle'));
    const done = await expectRolledBack(h, ['staging'], input.release);
    const child = await waitFor(async () => {
      const d = await stack.temporal.client.workflow.getHandle(childId).describe();
      return d.status.name !== 'RUNNING' && d;
    }, 'the child cycle closed');
    expect(child.status.name).toBe('CANCELLED');
    // The child stopped where it was: its run is marked failed with batches left unwritten.
    const { rows } = await stack.db.pool.query('SELECT status FROM forecast_runs WHERE id = $1', [childId]);
    expect(rows[0].status).toBe('failed');
    const written = (await stack.db.pool.query('SELECT count(*)::int AS n FROM forecast_batches WHERE run_id = $1', [childId])).rows[0].n;
    expect(written).toBeLessThan(20);
    expect(done.timeline.map((t) => t.event)).not.toContain('validation-cycle-1 done');
  });
});

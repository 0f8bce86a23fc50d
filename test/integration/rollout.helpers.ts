import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import { startRollout } from '../../src/client/starters';
import { listClaims } from '../../src/db/claims';
import { planToInput, type PlanOverrides } from '../../src/rollout/input';
import type { RolloutInput, RolloutStatus } from '../../src/rollout/types';
import { statusQuery } from '../../src/workflows/messages';
import type { rollout } from '../../src/workflows/rollout';
import { RUN_DATE, type Stack } from './forecast-run.helpers';

/** Shared by the rollout integration tests: rehearsal-sized inputs, waiting on the status query. */

// Unique across test files too: jest runs them in one process with one Temporal server, and each
// file gets its own module state, so a per-file counter would repeat a release still running there.
export const uniqueRelease = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

/** P1 rehearsed in seconds on the small test catalogue (4 batches of 6 SKUs). */
export function rehearsal(o: Partial<PlanOverrides> & { plan?: string } = {}): RolloutInput {
  return planToInput(o.plan ?? 'v19.3-batch-delay', {
    release: uniqueRelease(o.plan ?? 'p1'),
    author: 'dana-author',
    soak: '1s',
    monitor: '1s',
    cycles: 1,
    approvalTimeout: '5m',
    forecast: { batchSize: 6, runDate: RUN_DATE },
    ...o,
  });
}

export type RolloutHandle = WorkflowHandle<typeof rollout>;

export async function start(stack: Stack, input: RolloutInput): Promise<RolloutHandle> {
  const id = await startRollout(stack.temporal.client, input, stack.temporal.taskQueue);
  return stack.temporal.client.workflow.getHandle<typeof rollout>(id);
}

export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export const status = (h: WorkflowHandle): Promise<RolloutStatus> => h.query(statusQuery);

export async function untilStatus(h: WorkflowHandle, pred: (s: RolloutStatus) => boolean, what: string, timeoutMs?: number): Promise<RolloutStatus> {
  let last: RolloutStatus | undefined;
  try {
    return await waitFor(async () => {
      last = await status(h);
      return pred(last) ? last : undefined;
    }, what, timeoutMs);
  } catch (err) {
    const tail = last?.timeline.slice(-6).map((t) => `${t.event}${t.detail ? ` (${t.detail})` : ''}`).join(' | ');
    throw new Error(`${(err as Error).message}; last stage ${last?.stage}, state ${last?.state}; recent: ${tail}`, { cause: err });
  }
}

/**
 * Waits (up to 20 s) until no rollout holds a key claim. A rollout whose status already reads its
 * end state gives its claims back a moment later (after the release record), and the next test's
 * rollout needs the same key: without this wait it could be refused as "owned by" the last one.
 */
export async function rolloutsFinished(pool: Pool): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until && (await listClaims(pool)).length) await new Promise((r) => setTimeout(r, 100));
}

/** The database override of a key (null = none, the key is on its default). */
export async function override(pool: Pool, environment: string, key: string): Promise<unknown> {
  const { rows } = await pool.query('SELECT value FROM config_values WHERE environment = $1 AND key = $2', [environment, key]);
  return rows.length ? rows[0].value : null;
}

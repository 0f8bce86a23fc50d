import type { Pool } from 'pg';
import { claimKeys, KeyClaimedError, listClaims, releaseClaims } from '../../src/db/claims';
import { restoreConfig, setConfig } from '../../src/db/config-store';
import { createPool } from '../../src/db/pool';
import { freshDatabase, type TestDatabase } from '../helpers/env';

/** The claim and the compare-and-set restore under concurrency: two pools racing on PostgreSQL. */

const KEY = 'STREAMING_BATCH_DELAY_MS';
const running = async () => true;

describe('key claims and compare-and-set restores (two pools, PostgreSQL)', () => {
  let db: TestDatabase;
  let other: Pool;
  beforeAll(async () => {
    db = await freshDatabase();
    other = createPool(db.url);
    await Promise.all([db.pool.query('SELECT 1'), other.query('SELECT 1')]);
  });
  afterAll(async () => {
    await other?.end();
    await db?.drop();
  });

  it('of two concurrent claims of the same key exactly one wins, every round', async () => {
    for (let round = 0; round < 20; round++) {
      const a = { release: `a${round}`, workflowId: `rollout-a${round}`, kind: 'rollout' as const };
      const b = { release: `b${round}`, workflowId: `rollout-b${round}`, kind: 'rollout' as const };
      const results = await Promise.allSettled([
        claimKeys(db.pool, a, ['staging', 'production'], [KEY, 'PREFETCH_TOP_N_QUERIES'], running),
        claimKeys(other, b, ['production', 'staging'], ['PREFETCH_TOP_N_QUERIES', KEY], running),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).toBeInstanceOf(KeyClaimedError);
      // All or nothing: the winner holds all four claims, the loser none.
      const owners = new Set((await listClaims(db.pool)).map((c) => c.release));
      expect(owners.size).toBe(1);
      expect(await listClaims(db.pool)).toHaveLength(4);
      await releaseClaims(db.pool, a.workflowId);
      await releaseClaims(db.pool, b.workflowId);
    }
  });

  it('a claim is refused while its owner runs and taken over once it does not; a retry by the owner is a no-op', async () => {
    const a = { release: 'a', workflowId: 'rollout-a', kind: 'rollout' as const };
    const b = { release: 'b', workflowId: 'rollout-b', kind: 'revert' as const };
    await claimKeys(db.pool, a, ['staging'], [KEY], running);
    await claimKeys(db.pool, a, ['staging'], [KEY], running);
    await expect(claimKeys(db.pool, b, ['staging'], [KEY], running)).rejects.toThrow(`${KEY} (staging) is owned by the unfinished rollout of release a (workflow rollout-a`);
    const asked: string[] = [];
    const { tookOver } = await claimKeys(db.pool, b, ['staging'], [KEY], async (id) => (asked.push(id), false));
    expect(asked).toEqual(['rollout-a']);
    expect(tookOver.map((c) => c.release)).toEqual(['a']);
    expect((await listClaims(db.pool)).map((c) => c.workflowId)).toEqual(['rollout-b']);
    await releaseClaims(db.pool, 'rollout-b');
  });

  it('a restore writes the snapshot only while the key holds what the release wrote; a racing hand write is never lost', async () => {
    await setConfig(db.pool, 'staging', { [KEY]: 500 }, 'test');
    for (let round = 0; round < 10; round++) {
      await setConfig(db.pool, 'staging', { [KEY]: 300 }, 'rollout:a');
      const [restore] = await Promise.all([
        restoreConfig(db.pool, 'staging', { [KEY]: 500 }, { [KEY]: 300 }, 'rollback:a'),
        setConfig(other, 'staging', { [KEY]: 420 + round }, 'hand'),
      ]);
      const { rows } = await db.pool.query('SELECT value FROM config_values WHERE environment = $1 AND key = $2', ['staging', KEY]);
      if (restore.conflicts.length) {
        // The hand write came first: the restore left it alone and says so.
        expect(rows[0].value).toBe(420 + round);
        expect(restore.conflicts[0]).toMatchObject({ key: KEY, wrote: 300, live: 420 + round, changedBy: 'hand' });
      } else {
        // The restore came first: the hand write landed after it, on top.
        expect(rows[0].value).toBe(420 + round);
        expect(restore.restored[0]).toMatchObject({ key: KEY, old: 300, new: 500 });
      }
    }
  });
});

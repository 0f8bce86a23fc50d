import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import type { NeuroWorker as Worker } from '../../src/workers/worker';
import { createRedisCache, forecastKey, preloadRun, warmKeys } from '../../src/cache';
import { PATTERN_MIN_SHARE } from '../../src/db/query-log';
import type { ForecastCache } from '../../src/cache/types';
import { startPostDeployPrefetch, startPrefetch } from '../../src/client/starters';
import { findTemporalCli } from '../../src/client/temporal-server';
import { setConfig } from '../../src/db/config-store';
import { createWorker } from '../../src/workers/worker';
import { freshDatabase, testRedisUrl, testTemporal, testTemporalAddress, testWorkflowBundle, type TestDatabase, type TestTemporal } from '../helpers/env';
import { logQueries, seedRun, skuIds } from './cache-fixtures';

/** prefetch and postDeployPrefetch on the dev server, PostgreSQL and Redis. */

const HISTORIES = join(__dirname, '..', 'fixtures', 'histories');
let db: TestDatabase;
let cache: ForecastCache;
let t: TestTemporal;
let worker: Worker;
let running: Promise<void>;
const SKUS = skuIds(12);
const DAY = 86_400_000;

/** Saves a real history for the replay test (when missing, or always with RECORD_HISTORIES=1). */
async function recordHistory(name: string, handle: WorkflowHandle): Promise<void> {
  const file = join(HISTORIES, `${name}.json`);
  if (existsSync(file) && !process.env.RECORD_HISTORIES) return;
  mkdirSync(HISTORIES, { recursive: true });
  const { stdout } = await promisify(execFile)(
    findTemporalCli()!,
    ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', testTemporalAddress(), '--output', 'json'],
    { maxBuffer: 64 << 20 },
  );
  writeFileSync(file, stdout);
}

beforeAll(async () => {
  db = await freshDatabase();
  cache = await createRedisCache(testRedisUrl(), { keyPrefix: `t-${randomUUID()}:`, log: () => undefined });
  t = await testTemporal();
  worker = await createWorker({
    connection: t.nativeConnection,
    namespace: 'default',
    taskQueue: t.taskQueue,
    deps: { pool: db.pool, cache },
    workflowBundle: await testWorkflowBundle(),
  });
  running = worker.run();
  for (const env of ['production', 'staging']) await seedRun(db.pool, env, `${env}-run`, SKUS);
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await t?.close();
  await cache?.close();
  await db?.drop();
});

test('prefetch warms exactly the top-N queries of the last 30 days (plus the last 24 h) and records the run', async () => {
  const now = Date.now();
  await logQueries(db.pool, 'production', [
    { sku: SKUS[0], horizon: 14, n: 9, at: new Date(now - 10 * DAY) },
    { sku: SKUS[1], horizon: 7, n: 8, at: new Date(now - 3 * DAY) },
    { sku: SKUS[2], horizon: 28, n: 7, at: new Date(now - 20 * DAY) },
    { sku: SKUS[3], horizon: 7, n: 6, at: new Date(now - 5 * DAY) },
    { sku: SKUS[4], horizon: 3, n: 50, at: new Date(now - 40 * DAY) }, // older than 30 days
    { sku: SKUS[5], horizon: 21, n: 2, at: new Date(now - 2 * 3600_000) }, // recent, not in the 30-day top 3
    { sku: SKUS[6], horizon: 7, n: 1, at: new Date(now - 2 * DAY) },
  ]);
  const candidates = [
    [SKUS[0], 14],
    [SKUS[1], 7],
    [SKUS[2], 28],
    [SKUS[3], 7],
    [SKUS[4], 3],
    [SKUS[5], 21],
    [SKUS[6], 7],
  ] as const;
  const present = async () => (await cache.mget(candidates.map(([s, h]) => forecastKey('production', s, h)))).map((v) => v !== null);

  // Pattern expansion off: exactly the top-N (the expansion has its own test below).
  const handle = await startPrefetch(t.client, { environment: 'production', trigger: 'manual', topN: 3, includeRecent: false, patternSkus: 0 }, t.taskQueue);
  const r = await handle.result();
  expect(r).toMatchObject({ status: 'completed', topN: 3, includeRecent: false, queries: 3, keysWarmed: 3, topKeys: 3, patternKeys: 0, runId: 'production-run' });
  expect(await present()).toEqual([true, true, true, false, false, false, false]);
  const warmed = JSON.parse((await cache.get(forecastKey('production', SKUS[2], 28))) as string);
  expect(warmed).toMatchObject({ sku: SKUS[2], runId: 'production-run', horizon: 28 });
  expect(warmed.points).toHaveLength(28);
  const row = await db.pool.query('SELECT * FROM prefetch_runs WHERE id = $1', [handle.workflowId]);
  expect(row.rows[0]).toMatchObject({ environment: 'production', trigger: 'manual', top_n: 3, include_recent: false, keys_warmed: 3, status: 'completed' });
  expect(row.rows[0].duration_ms).toBeGreaterThan(0);
  expect(typeof row.rows[0].memory_impact_pct).toBe('number');
  await recordHistory('prefetch-manual', handle);

  // The post-run preload writes every SKU at the default horizon plus the top other queries
  // (here the top 1); keys already cached for the run do not take prefetch slots, and with the
  // last 24 h included the recent query gets its own slot.
  await cache.del(candidates.map(([s, h]) => forecastKey('production', s, h)));
  await setConfig(db.pool, 'production', { PREFETCH_TOP_N_QUERIES: 1, PREFETCH_INCLUDE_RECENT: false, PREFETCH_PATTERN_SKUS: 0 }, 'test');
  expect((await preloadRun(db.pool, cache, 'production', 'production-run')).keys).toBe(SKUS.length + 1);
  expect(await present()).toEqual([true, true, false, true, false, false, true]);
  const recent = await (await startPrefetch(t.client, { environment: 'production', trigger: 'manual', topN: 1, includeRecent: true, patternSkus: 0 }, t.taskQueue)).result();
  expect(recent).toMatchObject({ status: 'completed', queries: 2, keysWarmed: 2 });
  expect(await present()).toEqual([true, true, true, true, false, true, true]);
  expect(await cache.get(forecastKey('production', SKUS[4], 3))).toBeNull(); // older than 30 days
  await setConfig(db.pool, 'production', { PREFETCH_TOP_N_QUERIES: null, PREFETCH_INCLUDE_RECENT: null, PREFETCH_PATTERN_SKUS: null }, 'test');
});

test('prefetch defaults come from the environment config; a scheduled prefetch is skipped while ENABLE_PREDICTIVE_PREFETCH=false', async () => {
  await logQueries(db.pool, 'staging', SKUS.map((sku, i) => ({ sku, horizon: 5, n: 20 - i })));
  await setConfig(db.pool, 'staging', { PREFETCH_TOP_N_QUERIES: 4, PREFETCH_INCLUDE_RECENT: false, PREFETCH_PATTERN_SKUS: 6, ENABLE_PREDICTIVE_PREFETCH: false }, 'test');
  const skippedHandle = await startPrefetch(t.client, { environment: 'staging', trigger: 'schedule' }, t.taskQueue);
  const skipped = await skippedHandle.result();
  expect(skipped).toMatchObject({ status: 'skipped', reason: 'ENABLE_PREDICTIVE_PREFETCH=false', keysWarmed: 0, topN: 4 });
  expect((await cache.mget(SKUS.map((s) => forecastKey('staging', s, 5)))).every((v) => v === null)).toBe(true);
  const row = await db.pool.query('SELECT status FROM prefetch_runs WHERE id = $1', [skippedHandle.workflowId]);
  expect(row.rows[0].status).toBe('skipped: ENABLE_PREDICTIVE_PREFETCH=false');
  await recordHistory('prefetch-skipped', skippedHandle);

  // A manual prefetch still runs (an operator asked for it), with the environment's top-N and
  // pattern expansion: horizon 5 is the one non-default pattern, so the top 6 SKUs get it, of
  // which the top 4 already came from the top-N list.
  const manual = await (await startPrefetch(t.client, { environment: 'staging', trigger: 'manual' }, t.taskQueue)).result();
  expect(manual).toMatchObject({ status: 'completed', topN: 4, includeRecent: false, patternSkus: 6, keysWarmed: 6, topKeys: 4, patternKeys: 2, patternHorizons: [5] });
  expect((await cache.mget(SKUS.map((s) => forecastKey('staging', s, 5)))).map((v) => v !== null)).toEqual(SKUS.map((_, i) => i < 6));
  await setConfig(db.pool, 'staging', { ENABLE_PREDICTIVE_PREFETCH: null, PREFETCH_TOP_N_QUERIES: null, PREFETCH_INCLUDE_RECENT: null, PREFETCH_PATTERN_SKUS: null }, 'test');
});

test('pattern expansion: the top-N keys plus each popular non-default horizon for the top-K SKUs; with PREFETCH_PATTERN_SKUS=0 the top-N only', async () => {
  const env = 'production';
  const now = Date.now();
  const HOUR = 3600_000;
  const log: { sku: string; horizon: number; n: number; at: Date }[] = [
    // Default horizon: SKU popularity, 30 - 2i queries for SKUS[i].
    ...SKUS.map((sku, i) => ({ sku, horizon: 7, n: 30 - 2 * i, at: new Date(now - 5 * DAY) })),
    { sku: SKUS[3], horizon: 14, n: 10, at: new Date(now - 2 * HOUR) }, // recent: counts twice
    { sku: SKUS[7], horizon: 28, n: 6, at: new Date(now - 3 * DAY) },
    { sku: SKUS[10], horizon: 14, n: 4, at: new Date(now - 4 * DAY) },
    { sku: SKUS[5], horizon: 1, n: 1, at: new Date(now - 3 * HOUR) },
    { sku: SKUS[11], horizon: 3, n: 1, at: new Date(now - 6 * DAY) }, // one-off: under the share
    { sku: SKUS[9], horizon: 21, n: 40, at: new Date(now - 40 * DAY) }, // older than 30 days
  ];
  const topN = 2;
  const patternSkus = 4;
  await db.pool.query('DELETE FROM query_log WHERE environment = $1', [env]);
  await logQueries(db.pool, env, log);
  const allKeys = SKUS.flatMap((sku) => Array.from({ length: 30 }, (_, h) => ({ sku, horizon: h + 1 })));
  const reset = async () => {
    await cache.del(allKeys.map((q) => forecastKey(env, q.sku, q.horizon)));
    // As the daily preload leaves it: every SKU at the default horizon.
    await warmKeys(db.pool, cache, env, `${env}-run`, SKUS.map((sku) => ({ sku, horizon: 7 })), 3600);
  };
  const cachedKeys = async () => {
    const values = await cache.mget(allKeys.map((q) => forecastKey(env, q.sku, q.horizon)));
    return allKeys.filter((q, i) => values[i] !== null && q.horizon !== 7).map((q) => `${q.sku}@${q.horizon}`).sort();
  };

  // Expected, from the log above: the top-N uncached queries per window (30 days, then the last
  // 24 h), then the popular horizons (>= PATTERN_MIN_SHARE of the non-default traffic) for the
  // top-K SKUs by traffic, the last 24 h weighing twice.
  const inWindow = (e: (typeof log)[number], ms: number) => e.at.getTime() > now - ms;
  const top: string[] = [];
  for (const windowMs of [30 * DAY, DAY]) {
    const counts = new Map<string, number>();
    for (const e of log) if (inWindow(e, windowMs) && e.horizon !== 7) counts.set(`${e.sku}@${e.horizon}`, (counts.get(`${e.sku}@${e.horizon}`) ?? 0) + e.n);
    const ranked = [...counts].filter(([k]) => !top.includes(k)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    top.push(...ranked.slice(0, topN).map(([k]) => k));
  }
  const weight = (e: (typeof log)[number]) => (inWindow(e, 30 * DAY) ? e.n * (inWindow(e, DAY) ? 2 : 1) : 0);
  const byHorizon = new Map<number, number>();
  const bySku = new Map<string, number>();
  for (const e of log) {
    if (e.horizon !== 7) byHorizon.set(e.horizon, (byHorizon.get(e.horizon) ?? 0) + weight(e));
    bySku.set(e.sku, (bySku.get(e.sku) ?? 0) + weight(e));
  }
  const nonDefault = [...byHorizon.values()].reduce((a, b) => a + b, 0);
  const horizons = [...byHorizon].filter(([, w]) => w > 0 && w >= PATTERN_MIN_SHARE * nonDefault).sort((a, b) => b[1] - a[1]).map(([h]) => h);
  const topSkus = [...bySku].filter(([, w]) => w > 0).sort((a, b) => b[1] - a[1]).slice(0, patternSkus).map(([s]) => s);
  const expansion = horizons.flatMap((h) => topSkus.map((s) => `${s}@${h}`)).filter((k) => !top.includes(k));
  expect(horizons).toEqual([14, 28, 1]); // the one-off horizon 3 and the 40-day-old 21 are not patterns
  expect(expansion.length).toBeGreaterThan(0);

  await reset();
  const handle = await startPrefetch(t.client, { environment: env, trigger: 'manual', topN, includeRecent: true, patternSkus }, t.taskQueue);
  const r = await handle.result();
  expect(r).toMatchObject({ status: 'completed', patternSkus, topKeys: top.length, patternKeys: expansion.length, keysWarmed: top.length + expansion.length, patternHorizons: horizons });
  expect(await cachedKeys()).toEqual([...top, ...expansion].sort());
  const row = await db.pool.query('SELECT keys_warmed FROM prefetch_runs WHERE id = $1', [handle.workflowId]);
  expect(row.rows[0].keys_warmed).toBe(top.length + expansion.length);

  // The post-run preload warms the same selection on top of the default horizon.
  await reset();
  await setConfig(db.pool, env, { PREFETCH_TOP_N_QUERIES: topN, PREFETCH_INCLUDE_RECENT: true, PREFETCH_PATTERN_SKUS: patternSkus }, 'test');
  expect((await preloadRun(db.pool, cache, env, `${env}-run`)).keys).toBe(SKUS.length + top.length + expansion.length);
  expect(await cachedKeys()).toEqual([...top, ...expansion].sort());

  // The key at 0: exactly the top-N, as before the expansion.
  await reset();
  await setConfig(db.pool, env, { PREFETCH_PATTERN_SKUS: 0 }, 'test');
  const off = await (await startPrefetch(t.client, { environment: env, trigger: 'manual', topN, includeRecent: true }, t.taskQueue)).result();
  expect(off).toMatchObject({ status: 'completed', patternSkus: 0, topKeys: top.length, patternKeys: 0, keysWarmed: top.length, patternHorizons: [] });
  expect(await cachedKeys()).toEqual([...top].sort());
  await setConfig(db.pool, env, { PREFETCH_TOP_N_QUERIES: null, PREFETCH_INCLUDE_RECENT: null, PREFETCH_PATTERN_SKUS: null }, 'test');
});

test('a bad environment fails the prefetch at once with the reason', async () => {
  const handle = await t.client.workflow.start('prefetch', {
    taskQueue: t.taskQueue,
    workflowId: `prefetch-bad-${randomUUID()}`,
    args: [{ environment: 'qa', trigger: 'manual' }],
  });
  await expect(handle.result()).rejects.toThrow(/Workflow execution failed/);
  const history = await handle.fetchHistory();
  const failed = history.events?.find((e) => e.activityTaskFailedEventAttributes);
  expect(failed?.activityTaskFailedEventAttributes?.failure?.message).toMatch(/unknown environment "qa"/);
  expect(history.events?.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(1); // not retried
});

test('postDeployPrefetch waits a durable timer, then runs one prefetch child; once per deploy id', async () => {
  await setConfig(db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: 1500 }, 'test');
  const deployId = `d-${randomUUID().slice(0, 8)}`;
  const first = await startPostDeployPrefetch(t.client, { environment: 'production', deployId }, t.taskQueue);
  expect(first.started).toBe(true);
  const again = await startPostDeployPrefetch(t.client, { environment: 'production', deployId }, t.taskQueue);
  expect(again).toEqual({ workflowId: first.workflowId, started: false }); // while it is waiting

  const handle = t.client.workflow.getHandle(first.workflowId);
  const result = await handle.result();
  expect(result).toMatchObject({ deployId, delayMs: 1500, prefetch: { status: 'completed', trigger: 'post-deploy' } });
  const history = await handle.fetchHistory();
  const timers = history.events!.filter((e) => e.timerStartedEventAttributes);
  expect(timers).toHaveLength(1);
  const timeout = timers[0].timerStartedEventAttributes!.startToFireTimeout!;
  expect(Number(timeout.seconds) * 1000 + (timeout.nanos ?? 0) / 1e6).toBe(1500);
  expect(history.events!.filter((e) => e.timerFiredEventAttributes)).toHaveLength(1);
  const children = history.events!.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
  expect(children.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes!.workflowType!.name)).toEqual(['prefetch']);
  // The timer fired before the child was started.
  expect(Number(children[0].eventId)).toBeGreaterThan(Number(history.events!.find((e) => e.timerFiredEventAttributes)!.eventId));

  const afterwards = await startPostDeployPrefetch(t.client, { environment: 'production', deployId }, t.taskQueue);
  expect(afterwards.started).toBe(false); // closed: still nothing new
  const runs = await db.pool.query("SELECT COUNT(*)::int AS n FROM prefetch_runs WHERE trigger = 'post-deploy' AND id LIKE $1", [`${first.workflowId}%`]);
  expect(runs.rows[0].n).toBe(1);
  await expect(startPostDeployPrefetch(t.client, { environment: 'production', deployId: 'bad id!' }, t.taskQueue)).rejects.toThrow(/deploy id "bad id!" refused/);
  await recordHistory('prefetch-post-deploy', handle);
  await recordHistory('prefetch-post-deploy-child', t.client.workflow.getHandle(`${first.workflowId}-prefetch`));
  await setConfig(db.pool, 'production', { PREFETCH_POST_DEPLOY_DELAY_MS: null }, 'test');
});

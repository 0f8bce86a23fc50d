import { buildApp, type ApiApp } from '../../src/api/server';
import { createMemoryCache, preloadRun } from '../../src/cache';
import { migrate } from '../../src/db/migrate';
import { createPool, withTransaction } from '../../src/db/pool';
import type { Pool } from 'pg';
import { startPostgres } from '../helpers/servers';
import { seedRun, skuIds } from './cache-fixtures';

/** A PostgreSQL outage (a throwaway server of this file's own is stopped and restarted): the process and the query log survive it. */

let pg: Awaited<ReturnType<typeof startPostgres>>;
let pool: Pool;
const SKUS = skuIds(10);
const logged: string[] = [];
// Real HTTP on loopback, as in api.test.ts.
let base = '';

beforeAll(async () => {
  pg = await startPostgres();
  pool = createPool(pg.url, { connectionTimeoutMillis: 2000 });
  await migrate(pool);
  await seedRun(pool, 'production', 'outage-run', SKUS);
});

afterAll(async () => {
  await pool?.end();
  await pg?.stop();
});

async function app(opts: { queryLogMaxBuffer?: number } = {}): Promise<{ api: ApiApp; get(n: number): Promise<void> }> {
  const cache = createMemoryCache();
  await preloadRun(pool, cache, 'production', 'outage-run');
  const api = await buildApp({ pool, cache, taskQueue: 'unused', log: (l) => logged.push(l), flushMs: 100, ...opts });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
  // Served from the cache, so answers keep coming while PostgreSQL is down.
  const get = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${base}/api/v1/forecasts/${SKUS[i % SKUS.length]}?horizon=7`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  };
  return { api, get };
}

const logRows = async () => Number((await pool.query('SELECT count(*) AS n FROM query_log')).rows[0].n);

async function waitForRows(n: number, timeoutMs = 20_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let got = -1;
  while (Date.now() < until) {
    got = await logRows().catch(() => -1);
    if (got >= n) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
  return got;
}

const dropped = async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^neuro_query_log_dropped_total (\d+)/m.exec(text)?.[1]);
};

it('keeps every entry logged while PostgreSQL is down and writes it once it is back', async () => {
  await pool.query('TRUNCATE query_log');
  const { api, get } = await app();
  try {
    await get(40);
    expect(await waitForRows(40)).toBe(40);
    await pg.halt();
    await get(200);
    // Several flushes fail meanwhile; the entries stay buffered.
    await new Promise((r) => setTimeout(r, 1000));
    await pg.restart();
    expect(await waitForRows(240)).toBe(240);
    await api.flush();
    expect(await logRows()).toBe(240);
    const per = await pool.query<{ sku_id: string; n: number }>('SELECT sku_id, count(*)::int AS n FROM query_log GROUP BY sku_id ORDER BY sku_id');
    expect(per.rows).toEqual(SKUS.map((sku_id) => ({ sku_id, n: 24 })));
    expect(await dropped()).toBe(0);
    expect(logged.some((l) => l.includes('[query-log] write failed'))).toBe(true);
  } finally {
    await api.close();
  }
});

it('bounds the buffer during an outage and counts what it drops in /metrics', async () => {
  await pool.query('TRUNCATE query_log');
  const { api, get } = await app({ queryLogMaxBuffer: 25 });
  try {
    await get(1); // the reader knows the current run before the outage
    expect(await waitForRows(1)).toBe(1);
    await pg.halt();
    await get(60);
    expect(await dropped()).toBe(35);
    await pg.restart();
    expect(await waitForRows(26)).toBe(26);
    await api.flush();
    expect(await logRows()).toBe(26);
  } finally {
    await api.close();
  }
});

it('a transaction cut by the outage fails its caller and does not crash the process; the pool works after the restart', async () => {
  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const cut = withTransaction(pool, (c) => c.query('SELECT pg_sleep(30)')).then(
      () => 'committed',
      (err: Error) => err.message,
    );
    await new Promise((r) => setTimeout(r, 300));
    await pg.halt();
    expect(await cut).toMatch(/terminat/);
    await new Promise((r) => setTimeout(r, 300));
    await pg.restart();
    expect(await withTransaction(pool, async (c) => (await c.query('SELECT 1 AS one')).rows[0])).toEqual({ one: 1 });
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

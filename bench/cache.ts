/**
 * Cache benchmark: the same replayed query workload with predictive prefetch on and off, side by
 * side in one run, on real PostgreSQL and Redis over loopback; then API latency of hits and misses
 * under an open-loop load of --rps requests/s, and the duration of a top-50 prefetch.
 *
 *   node -r tsx/cjs bench/cache.ts [--skus 700] [--per-day 12000] [--warmup-days 2] [--days 3] [--rps 1000]
 *
 * Days are simulated (time compressed): each day a new forecast run replaces the previous one at
 * 02:00 and is preloaded (as forecastRun's cachePreload does: every SKU at the default horizon,
 * plus, with prefetch on, the top other queries); with prefetch on, the top queries are also
 * warmed at 11:28 and 17:28 from the query log the API wrote. Prefetch off is
 * ENABLE_PREDICTIVE_PREFETCH=false, the plan's rollback state.
 * Hit rates are counted client-side from x-cache, and cross-checked with hitRate() over the
 * cache_stats rows the API flushed. The latency phase runs the API in a child process so the load
 * loop does not share its event loop. The last line printed is one JSON object.
 */
import { spawn } from 'node:child_process';
import { Agent } from 'node:http';
import type { Pool } from 'pg';
import { get, percentile, replay, type Planned } from '../src/api/load';
import { buildApp, startApiServer } from '../src/api/server';
import { Workload, type Query } from '../src/api/workload';
import { createRedisCache, hitRate, inPeakWindow, peakWindows, preloadRun, runPrefetch } from '../src/cache';
import type { ForecastCache } from '../src/cache/types';
import { getEnvironmentConfig, setConfig } from '../src/db/config-store';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { startPostgres, startRedis } from '../test/helpers/servers';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const EPOCH = new Date('2025-11-20T00:00:00Z');
const WINDOWS = peakWindows({ PREFETCH_MORNING_PEAK_HOUR: 11, PREFETCH_AFTERNOON_PEAK_HOUR: 17 });
const PREFETCH_AT = [11 * 60 + 28, 17 * 60 + 28];
const quiet = () => undefined;

async function seedRun(pool: Pool, environment: string, runId: string, skus: string[], days = 28): Promise<void> {
  const s: string[] = [];
  const d: string[] = [];
  const v: number[] = [];
  skus.forEach((sku, i) => {
    for (let k = 0; k < days; k++) {
      s.push(sku);
      d.push(new Date(EPOCH.getTime() + k * 86_400_000).toISOString().slice(0, 10));
      v.push(i + k / 10);
    }
  });
  await pool.query(
    `INSERT INTO forecasts (environment, run_id, sku_id, ds, model, value)
     SELECT $1, $2, a, b, 'SES', c FROM unnest($3::text[], $4::date[], $5::float8[]) AS t(a, b, c)`,
    [environment, runId, s, d, v],
  );
  await pool.query(
    `INSERT INTO current_forecast_run (environment, run_id) VALUES ($1, $2)
     ON CONFLICT (environment) DO UPDATE SET run_id = EXCLUDED.run_id`,
    [environment, runId],
  );
  await pool.query('DELETE FROM forecasts WHERE environment = $1 AND run_id <> $2', [environment, runId]);
}

interface Counted {
  hits: number;
  misses: number;
  /** Misses of queries never asked before: no query-log analysis can predict these. */
  firstEverMisses: number;
  peakHits: number;
  peakMisses: number;
}

/** One scenario: warm-up days then measured days of the same workload, prefetch on or off. */
async function scenario(
  pool: Pool,
  cache: ForecastCache,
  environment: string,
  prefetch: boolean,
  workload: Workload,
  o: { skus: string[]; perDay: number; warmupDays: number; days: number },
) {
  let clock = EPOCH;
  const api = await buildApp({ pool, cache, taskQueue: 'bench', log: quiet, now: () => clock, flushMs: 60_000 });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const counted: Counted = { hits: 0, misses: 0, firstEverMisses: 0, peakHits: 0, peakMisses: 0 };
  const seen = new Set<string>();
  const prefetches: { durationMs: number; keysWarmed: number; topKeys: number; patternKeys: number; memoryImpactPct: number }[] = [];
  let errors = 0;

  /** Sends queries in time order, 16 at a time (closed loop: as fast as the API answers). */
  const send = async (queries: Query[], measured: boolean) => {
    let next = 0;
    const worker = async () => {
      while (next < queries.length) {
        const q = queries[next++];
        clock = q.at;
        const r = await get(agent, new URL(`/api/v1/forecasts/${q.sku}?env=${environment}&horizon=${q.horizon}`, base));
        if (r.status !== 200) errors++;
        const key = `${q.sku}|${q.horizon}`;
        const firstEver = !seen.has(key);
        seen.add(key);
        if (!measured) continue;
        const hit = r.cache === 'hit';
        if (hit) counted.hits++;
        else counted.misses++;
        if (!hit && firstEver) counted.firstEverMisses++;
        if (inPeakWindow(q.at, WINDOWS)) {
          if (hit) counted.peakHits++;
          else counted.peakMisses++;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  };

  await seedRun(pool, environment, `${environment}-initial`, o.skus);
  await preloadRun(pool, cache, environment, `${environment}-initial`);
  for (let day = 0; day < o.warmupDays + o.days; day++) {
    const measured = day >= o.warmupDays;
    const dayStart = EPOCH.getTime() + day * 86_400_000;
    const queries = workload.day(day, o.perDay, EPOCH);
    const minuteOf = (q: Query) => Math.floor((q.at.getTime() - dayStart) / 60_000);
    // 00:00-02:00 is served by yesterday's run; the new run lands at 02:00 and is preloaded.
    const cuts = [2 * 60, ...(prefetch ? PREFETCH_AT : [])];
    let from = 0;
    for (const cut of [...cuts, 1440]) {
      const upto = queries.findIndex((q, i) => i >= from && minuteOf(q) >= cut);
      const end = upto < 0 ? queries.length : upto;
      await send(queries.slice(from, end), measured);
      from = end;
      if (cut === 1440) break;
      clock = new Date(dayStart + cut * 60_000);
      if (cut === 2 * 60) {
        await api.flush();
        await seedRun(pool, environment, `${environment}-day${day}`, o.skus);
        await preloadRun(pool, cache, environment, `${environment}-day${day}`, clock);
        await new Promise((r) => setTimeout(r, 1100)); // the API re-reads the current run id each second
      } else {
        await api.flush(); // the query log the analysis reads
        const r = await runPrefetch(pool, cache, {
          prefetchId: `bench-${environment}-${day}-${cut}`,
          environment,
          trigger: 'schedule',
          topN: 50,
          includeRecent: true,
          now: clock,
        });
        prefetches.push(r);
      }
    }
  }
  await api.flush();
  const from = new Date(EPOCH.getTime() + o.warmupDays * 86_400_000);
  const to = new Date(EPOCH.getTime() + (o.warmupDays + o.days) * 86_400_000);
  const stats = await hitRate(pool, environment, from, to);
  const peakStats = await hitRate(pool, environment, from, to, { peakOnly: true });
  agent.destroy();
  await api.close();
  return { counted, prefetches, errors, stats, peakStats };
}

/** The API alone in a child process (so the load loop does not share its event loop). */
async function serve(): Promise<void> {
  const pool = createPool(process.env.DATABASE_URL!);
  const cache = await createRedisCache(process.env.REDIS_URL!, { log: quiet });
  const server = await startApiServer({ pool, cache, taskQueue: 'bench', port: 0, log: quiet });
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => cache.close()).then(() => pool.end()).then(() => process.exit(0)));
}

async function startChildApi(databaseUrl: string, redisUrl: string) {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', __filename, '--serve'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => resolve(b.toString().trim()));
    child.on('exit', (code) => reject(new Error(`API child exited with ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Open-loop latency at `rps` for `seconds`: planned send times, not "as fast as possible". */
async function latency(url: string, paths: string[], rps: number) {
  const plan: Planned<null>[] = paths.map((path, i) => ({ path, atMs: (i * 1000) / rps, tag: null }));
  const { outcomes, dropped, elapsedMs } = await replay(url, plan, { concurrency: 256 });
  const ok = outcomes.filter((o) => o.status === 200);
  const ms = (cache: string) => ok.filter((o) => o.cache === cache).map((o) => o.ms);
  return { sent: outcomes.length, dropped, achievedRps: outcomes.length / (elapsedMs / 1000), ok: ok.length, hitMs: ms('hit'), missMs: ms('miss') };
}

async function main(): Promise<void> {
  const o = { skus: arg('skus', 700), perDay: arg('per-day', 12_000), warmupDays: arg('warmup-days', 2), days: arg('days', 3) };
  const rps = arg('rps', 1000);
  const pg = await startPostgres();
  const redis = await startRedis();
  const pool = createPool(pg.url);
  const cache = await createRedisCache(redis.url, { log: (l) => console.error(l) });
  try {
    await migrate(pool);
    const skus = Array.from({ length: o.skus }, (_, i) => `SKU-${String(i + 1).padStart(5, '0')}`);
    await pool.query('INSERT INTO skus (id) SELECT unnest($1::text[])', [skus]);
    const workload = new Workload({ skus, seed: 42 });
    console.log(`workload: ${o.skus} SKUs, ${o.perDay} queries/day, ${o.warmupDays} warm-up + ${o.days} measured days, same seed for both scenarios`);

    // Prefetch off is the plan's rollback state: ENABLE_PREDICTIVE_PREFETCH=false (the post-run
    // preload then writes the default horizon only, and no pre-peak prefetch runs).
    await setConfig(pool, 'staging', { ENABLE_PREDICTIVE_PREFETCH: false }, 'bench');
    // Cache memory each scenario leaves behind (one Redis; keys outlive the simulated days), for
    // the whole footprint of the prefetch (preload extras included), not just one prefetch's growth.
    const memory0 = await cache.memoryBytes();
    const without = await scenario(pool, cache, 'staging', false, workload, { ...o, skus });
    const memory1 = await cache.memoryBytes();
    const withP = await scenario(pool, cache, 'production', true, workload, { ...o, skus });
    const memory2 = await cache.memoryBytes();
    const cacheMemoryGrowthPct = ((memory2 - memory1 - (memory1 - memory0)) / (memory1 - memory0)) * 100;
    const rate = (c: Counted) => c.hits / (c.hits + c.misses);
    const peakMiss = (c: Counted) => c.peakMisses / (c.peakHits + c.peakMisses);
    const row = (label: string, a: string, b: string) => console.log(`${label.padEnd(34)} ${a.padStart(14)} ${b.padStart(14)}`);
    row('', 'prefetch off', 'prefetch on');
    row('requests (measured days)', String(without.counted.hits + without.counted.misses), String(withP.counted.hits + withP.counted.misses));
    row('hit rate', rate(without.counted).toFixed(5), rate(withP.counted).toFixed(5));
    row('peak-window miss rate', peakMiss(without.counted).toFixed(5), peakMiss(withP.counted).toFixed(5));
    row('hit rate (cache_stats, hitRate())', without.stats.rate!.toFixed(5), withP.stats.rate!.toFixed(5));
    row('peak miss rate (cache_stats)', (1 - without.peakStats.rate!).toFixed(5), (1 - withP.peakStats.rate!).toFixed(5));
    row('misses of never-asked queries', String(without.counted.firstEverMisses), String(withP.counted.firstEverMisses));
    row('misses of queries asked before', String(without.counted.misses - without.counted.firstEverMisses), String(withP.counted.misses - withP.counted.firstEverMisses));
    row('non-200 answers', String(without.errors), String(withP.errors));
    const pDur = withP.prefetches.map((p) => p.durationMs);
    console.log(
      `prefetches: ${withP.prefetches.length}, keys warmed median ${percentile(withP.prefetches.map((p) => p.keysWarmed), 50)}, ` +
        `duration median ${percentile(pDur, 50)!.toFixed(1)} ms max ${Math.max(...pDur).toFixed(1)} ms, ` +
        `memory impact max ${Math.max(...withP.prefetches.map((p) => p.memoryImpactPct)).toFixed(2)}%; keys per prefetch ${withP.prefetches.map((p) => p.keysWarmed).join(' ')}`,
    );
    const patternSkus = (await getEnvironmentConfig(pool, 'production')).PREFETCH_PATTERN_SKUS;
    console.log(
      `cache memory left by each scenario: off ${((memory1 - memory0) / 1024).toFixed(0)} KiB, on ${((memory2 - memory1) / 1024).toFixed(0)} KiB ` +
        `(prefetch on ${cacheMemoryGrowthPct >= 0 ? '+' : ''}${cacheMemoryGrowthPct.toFixed(1)}%)`,
    );
    console.log(
      `keys per prefetch from the top-N lists ${withP.prefetches.map((p) => p.topKeys).join(' ')}; ` +
        `from pattern expansion (PREFETCH_PATTERN_SKUS=${patternSkus}) ${withP.prefetches.map((p) => p.patternKeys).join(' ')}; ` +
        `memory impact % ${withP.prefetches.map((p) => p.memoryImpactPct.toFixed(1)).join(' ')}`,
    );

    // Top-50 prefetch alone (no recent set), five times.
    const top50: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await runPrefetch(pool, cache, { prefetchId: `bench-top50-${i}`, environment: 'production', trigger: 'manual', topN: 50, includeRecent: false, now: new Date(EPOCH.getTime() + (o.warmupDays + o.days) * 86_400_000) });
      top50.push(r.durationMs);
    }
    console.log(`top-50 prefetch: median ${percentile(top50, 50)!.toFixed(1)} ms over 5 runs`);

    // Latency under load, API in a child process: hits on the preloaded run, then misses on a new run.
    const child = await startChildApi(pg.url, redis.url);
    let hitPhase: Awaited<ReturnType<typeof latency>>;
    let missPhase: Awaited<ReturnType<typeof latency>>;
    try {
      const zipf = new Workload({ skus, seed: 7, altShare: 0, trendingShare: 0, newShare: 0 }).day(0, rps * 10, EPOCH);
      await latency(child.url, zipf.slice(0, rps).map((q) => `/api/v1/forecasts/${q.sku}?env=production&horizon=7`), rps); // warm-up
      hitPhase = await latency(child.url, zipf.map((q) => `/api/v1/forecasts/${q.sku}?env=production&horizon=7`), rps);
      await seedRun(pool, 'production', 'latency-run', skus);
      await new Promise((r) => setTimeout(r, 1500));
      const unique = skus.flatMap((s) => [1, 2, 3, 4, 5, 6, 8, 9, 10].map((h) => `/api/v1/forecasts/${s}?env=production&horizon=${h}`));
      missPhase = await latency(child.url, unique.slice(0, Math.min(unique.length, rps * 3)), rps);
    } finally {
      await child.stop();
    }
    const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
    console.log(
      `latency at ${rps} req/s (open loop, keep-alive, loopback): hits ${hitPhase.hitMs.length} p50 ${f(percentile(hitPhase.hitMs, 50))} ms ` +
        `p99 ${f(percentile(hitPhase.hitMs, 99))} ms (achieved ${hitPhase.achievedRps.toFixed(0)} req/s, dropped ${hitPhase.dropped}); ` +
        `misses ${missPhase.missMs.length} p50 ${f(percentile(missPhase.missMs, 50))} ms p99 ${f(percentile(missPhase.missMs, 99))} ms ` +
        `(achieved ${missPhase.achievedRps.toFixed(0)} req/s, dropped ${missPhase.dropped})`,
    );

    console.log(
      JSON.stringify({
        hitRateWithPrefetch: rate(withP.counted),
        hitRateWithoutPrefetch: rate(without.counted),
        peakMissRateWithPrefetch: peakMiss(withP.counted),
        peakMissRateWithoutPrefetch: peakMiss(without.counted),
        hitRateFromStatsWithPrefetch: withP.stats.rate,
        p50HitMs: percentile(hitPhase.hitMs, 50),
        p99HitMs: percentile(hitPhase.hitMs, 99),
        p50MissMs: percentile(missPhase.missMs, 50),
        p99MissMs: percentile(missPhase.missMs, 99),
        loadRps: rps,
        achievedHitRps: hitPhase.achievedRps,
        prefetchTop50Ms: percentile(top50, 50),
        prefetchMedianMs: percentile(pDur, 50),
        prefetchMemoryImpactMaxPct: Math.max(...withP.prefetches.map((p) => p.memoryImpactPct)),
        prefetchPatternSkus: patternSkus,
        cacheMemoryGrowthWithPrefetchPct: cacheMemoryGrowthPct,
        prefetchTopKeysMedian: percentile(withP.prefetches.map((p) => p.topKeys), 50),
        prefetchPatternKeysMedian: percentile(withP.prefetches.map((p) => p.patternKeys), 50),
        requestsPerScenario: withP.counted.hits + withP.counted.misses,
        firstEverMissShareWithPrefetch: withP.counted.firstEverMisses / Math.max(1, withP.counted.misses),
      }),
    );
  } finally {
    await cache.close();
    await pool.end();
    await redis.stop();
    await pg.stop();
  }
}

if (process.argv.includes('--serve')) void serve();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });

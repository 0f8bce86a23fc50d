import { timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { z } from 'zod';
import { ForecastReader, forLevels, MAX_HORIZON, type CachedForecast } from '../cache/forecasts';
import { currentRunId, knownSkus, runSkus } from '../db/served-forecasts';
import { QueryLogWriter } from '../cache/query-log';
import { CacheStatsRecorder } from '../cache/stats';
import type { ForecastCache } from '../cache/types';
import { startForecastRun } from '../client/starters';
import { ENVIRONMENTS, SELECTION_POLICIES } from '../config/schema';
import { loadOpsReport } from '../db/ops';
import { isValidIsoDate } from '../forecasting/dates';
import { parseLevels } from '../forecasting/conformal';
import { renderOpsReport } from '../ops/report';
import { createMetrics } from './metrics';

/**
 * The HTTP API: forecasts from the cache (then PostgreSQL), the admin trigger that starts a
 * forecastRun, Prometheus metrics and a health check. Hits and misses are counted per
 * environment per minute (cache_stats) and every query goes to the query log in batches, both
 * off the response path.
 */

export interface ApiOptions {
  pool: Pool;
  cache: ForecastCache;
  temporalClient?: Client;
  taskQueue: string;
  adminToken?: string;
  log?: (line: string) => void;
  /** Clock for the query log and hit/miss minutes (the benchmark replays compressed days). */
  now?: () => Date;
  /** Background flush interval of the query log and the hit/miss counts. */
  flushMs?: number;
}

export interface ApiApp {
  app: FastifyInstance;
  reader: ForecastReader;
  /** Writes the buffered query log and hit/miss counts now (tests, benchmark). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export const MAX_BATCH_SKUS = 100;

const SKU_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

class BadRequest extends Error {}

function oneParam(q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new BadRequest(`${name} given more than once`);
  return String(v);
}

function parseQuery(raw: unknown, allowed: string[]): { env: string; horizon?: number; q: Record<string, unknown> } {
  const q = (raw ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(q).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new BadRequest(`unknown parameter ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  const env = oneParam(q, 'env') ?? 'production';
  if (!(ENVIRONMENTS as readonly string[]).includes(env)) throw new BadRequest(`env must be one of ${ENVIRONMENTS.join(', ')}, got "${env}"`);
  const h = oneParam(q, 'horizon');
  let horizon: number | undefined;
  if (h !== undefined) {
    if (!/^\d+$/.test(h) || Number(h) < 1 || Number(h) > MAX_HORIZON) throw new BadRequest(`horizon must be a whole number of days from 1 to ${MAX_HORIZON}, got "${h}"`);
    horizon = Number(h);
  }
  return { env, horizon, q };
}

/** `level=80,95`: prediction-interval levels to serve (conformal bounds stored with the run). */
function parseLevelParam(q: Record<string, unknown>): number[] | undefined {
  const raw = oneParam(q, 'level');
  if (raw === undefined) return undefined;
  try {
    return parseLevels([raw], 'level');
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
}

function servedLevels(f: CachedForecast, levels: number[] | undefined): CachedForecast {
  try {
    return forLevels(f, levels);
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
}

function checkSku(sku: string): void {
  if (!SKU_RE.test(sku)) throw new BadRequest(`SKU "${sku.slice(0, 120)}" is not a valid id (letters, digits, . _ : -, up to 100 characters)`);
}

const triggerBody = z
  .object({
    env: z.enum(ENVIRONMENTS),
    runDate: z.string().refine(isValidIsoDate, 'is not a calendar date YYYY-MM-DD').optional(),
    horizon: z.number().int().min(1).max(MAX_HORIZON).optional(),
    maxParallel: z.number().int().min(1).max(64).optional(),
    batchSize: z.number().int().min(1).max(100_000).optional(),
    delayMs: z.number().int().min(0).max(60_000).optional(),
    policy: z.enum(SELECTION_POLICIES).optional(),
    skus: z.array(z.string().regex(SKU_RE, 'not a valid SKU id')).min(1).max(100_000).optional(),
  })
  .strict();

function tokenMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function buildApp(opts: ApiOptions): Promise<ApiApp> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const now = opts.now ?? (() => new Date());
  const reader = new ForecastReader(opts.pool, opts.cache, { log });
  const stats = new CacheStatsRecorder(opts.pool, { flushMs: opts.flushMs, now, log });
  const queryLog = new QueryLogWriter(opts.pool, { flushMs: opts.flushMs, log });
  const metrics = createMetrics(opts.pool, () => reader.degraded);
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });

  const account = (env: string, f: CachedForecast, hit: boolean, durationMs: number) => {
    stats.record(env, hit);
    (hit ? metrics.hits : metrics.misses).inc({ environment: env });
    queryLog.add({ environment: env, sku: f.sku, horizon: f.horizon, durationMs, cacheHit: hit, at: now() });
  };
  const observe = (route: string, cache: string, status: number, startedNs: bigint) =>
    metrics.requestDuration.observe({ route, cache, status: String(status) }, Number(process.hrtime.bigint() - startedNs) / 1e9);

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof BadRequest) return reply.code(400).send({ error: err.message });
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) log(`[api] ${err.message}`);
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  const notFound = async (env: string, sku: string) =>
    (await knownSkus(opts.pool, [sku])).has(sku)
      ? `no forecast for SKU ${sku} in ${env} yet (no completed forecast run)`
      : `unknown SKU ${sku}`;

  app.get('/api/v1/forecasts/:sku', async (req: FastifyRequest<{ Params: { sku: string } }>, reply: FastifyReply) => {
    const started = process.hrtime.bigint();
    const { env, horizon: asked, q } = parseQuery(req.query, ['env', 'horizon', 'level']);
    const levels = parseLevelParam(q);
    const sku = req.params.sku;
    checkSku(sku);
    const horizon = asked ?? (await reader.config(env)).FORECAST_HORIZON_DAYS;
    const { forecast, hit } = await reader.readOne(env, sku, horizon);
    if (!forecast) {
      observe('forecast', 'none', 404, started);
      return reply.code(404).send({ error: await notFound(env, sku) });
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    account(env, forecast, hit, ms);
    observe('forecast', hit ? 'hit' : 'miss', 200, started);
    return reply.header('x-cache', hit ? 'hit' : 'miss').send(servedLevels(forecast, levels));
  });

  app.get('/api/v1/forecasts', async (req, reply) => {
    const started = process.hrtime.bigint();
    const { env, horizon: asked, q } = parseQuery(req.query, ['env', 'horizon', 'skus', 'level']);
    const levels = parseLevelParam(q);
    const list = oneParam(q, 'skus');
    if (!list) throw new BadRequest('skus is required: a comma-separated list of SKU ids');
    const skus = [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))];
    if (!skus.length) throw new BadRequest('skus is empty');
    if (skus.length > MAX_BATCH_SKUS) throw new BadRequest(`at most ${MAX_BATCH_SKUS} SKUs per request, got ${skus.length}`);
    skus.forEach(checkSku);
    const horizon = asked ?? (await reader.config(env)).FORECAST_HORIZON_DAYS;
    const results = await reader.readMany(env, skus, horizon);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const forecasts: CachedForecast[] = [];
    const missing: string[] = [];
    let hits = 0;
    for (const sku of skus) {
      const r = results.get(sku);
      if (r?.forecast) {
        forecasts.push(servedLevels(r.forecast, levels));
        account(env, r.forecast, r.hit, ms);
        if (r.hit) hits++;
      } else missing.push(sku);
    }
    observe('forecast-batch', hits === forecasts.length && forecasts.length ? 'hit' : 'miss', 200, started);
    return reply.header('x-cache-hits', String(hits)).send({ environment: env, horizon, forecasts, missing });
  });

  // The SKUs that have a forecast in the current run (`neuro traffic` draws its workload from them).
  app.get('/api/v1/skus', async (req) => {
    const { env } = parseQuery(req.query, ['env']);
    const runId = await currentRunId(opts.pool, env);
    return { environment: env, runId, skus: runId ? await runSkus(opts.pool, env, runId) : [] };
  });

  app.post('/api/v1/admin/trigger-forecast', async (req, reply) => {
    if (!tokenMatches(req.headers.authorization, opts.adminToken)) {
      const why = opts.adminToken ? 'missing or wrong bearer token' : 'admin routes are disabled: ADMIN_TOKEN is not set';
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: why });
    }
    const parsed = triggerBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return reply.code(400).send({ error: `bad trigger-forecast body: ${msg}` });
    }
    if (!opts.temporalClient) return reply.code(503).send({ error: 'no Temporal connection: cannot start a forecast run' });
    const { env, ...rest } = parsed.data;
    const handle = await startForecastRun(opts.temporalClient, { environment: env, ...rest, trigger: 'api' }, opts.taskQueue);
    return reply.code(202).send({ started: true, workflowId: handle.workflowId });
  });

  app.get('/metrics', async (_req, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // The ops report (same page as `neuro report`): ?env=production&days=14
  app.get('/report', async (req, reply) => {
    const { env, q } = parseQuery(req.query, ['env', 'days']);
    const days = oneParam(q, 'days') ?? '14';
    if (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 90) throw new BadRequest(`days must be a whole number from 1 to 90, got "${days}"`);
    const html = renderOpsReport(await loadOpsReport(opts.pool, env, Number(days)));
    return reply.type('text/html; charset=utf-8').send(html);
  });

  app.get('/healthz', async (_req, reply) => {
    const database = await opts.pool.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const cache = await opts.cache.ping();
    const status = !database ? 'down' : cache ? 'ok' : 'degraded';
    return reply.code(database ? 200 : 503).send({ status, database, cache: { kind: opts.cache.kind, up: cache } });
  });

  await app.ready();
  const flush = async () => {
    await Promise.all([stats.flush(), queryLog.flush()]);
  };
  return {
    app,
    reader,
    flush,
    async close() {
      await app.close();
      await Promise.all([stats.close(), queryLog.close()]);
    },
  };
}

/** Starts the API on a port; `neuro dev` and `neuro api` call this. */
export async function startApiServer(
  opts: ApiOptions & { port: number; host?: string },
): Promise<{ url: string; close(): Promise<void>; flush(): Promise<void> }> {
  const api = await buildApp(opts);
  const host = opts.host ?? '127.0.0.1';
  await api.app.listen({ port: opts.port, host });
  const address = api.app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close: api.close, flush: api.flush };
}

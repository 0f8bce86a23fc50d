import { timingSafeEqual } from 'node:crypto';
import type { Client } from '@temporalio/client';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import { ForecastReader, forLevels, type CachedForecast } from '../cache/forecasts';
import { currentRunId, knownSkus, runSkus } from '../db/served-forecasts';
import { QueryLogWriter } from '../cache/query-log';
import { CacheStatsRecorder } from '../cache/stats';
import type { ForecastCache } from '../cache/types';
import { startForecastRun } from '../client/starters';
import { quotePrefix } from '../db/sku-id';
import { loadOpsReport } from '../db/ops';
import { databaseUp } from '../db/pool';
import { renderOpsReport } from '../ops/report';
import { createMetrics } from './metrics';
import { answers, batchQuery, forecastParams, forecastQuery, reportQuery, rollbackBody, rollbackParams, skusQuery, triggerBody, type ForecastAnswer } from './schemas';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { API_SIGNER, ensureApiSigner } from '../db/approvers';
import { adminSigningKey, publicKeyPemOf, signPayload } from '../rollout/keys';
import { rolloutWorkflowId } from '../workflows/ids';
import { rollbackUpdate } from '../workflows/messages';

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
  /** Query-log entries kept in memory while PostgreSQL is unreachable (default 50,000). */
  queryLogMaxBuffer?: number;
}

export interface ApiApp {
  app: FastifyInstance;
  reader: ForecastReader;
  /** Writes the buffered query log and hit/miss counts now (tests, benchmark). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export { MAX_BATCH_SKUS } from './schemas';

class BadRequest extends Error {}

/** The forecast with only the asked-for interval bounds; a level the run does not store is a 400. */
function servedLevels(f: CachedForecast, levels: number[] | undefined): ForecastAnswer {
  try {
    // The same shape; the cache's point type spells its bound keys as a template-literal index.
    return forLevels(f, levels) as ForecastAnswer;
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
}

/** A 4xx message never carries more than this (a safety net over the per-parameter prefixes). */
const MAX_MESSAGE = 400;
const capped = (msg: string) => (msg.length > MAX_MESSAGE ? `${msg.slice(0, MAX_MESSAGE)}...` : msg);

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
  const metrics = createMetrics(opts.pool, () => reader.degraded);
  const queryLog = new QueryLogWriter(opts.pool, {
    flushMs: opts.flushMs,
    maxBuffer: opts.queryLogMaxBuffer,
    log,
    onDrop: (n) => metrics.queryLogDropped.inc(n),
  });
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // Answers are JSON.stringify'd as before: their schemas document them, the hot path does not re-check them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'neuro forecast API', version: '1', description: 'Forecasts from the cache (then PostgreSQL), the admin trigger, metrics and health.' },
      components: { securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } } },
    },
    transform: jsonSchemaTransform,
  });

  const account = (env: string, f: CachedForecast, hit: boolean, durationMs: number) => {
    stats.record(env, hit);
    (hit ? metrics.hits : metrics.misses).inc({ environment: env });
    queryLog.add({ environment: env, sku: f.sku, horizon: f.horizon, durationMs, cacheHit: hit, at: now() });
  };
  const observe = (route: string, cache: string, status: number, startedNs: bigint) =>
    metrics.requestDuration.observe({ route, cache, status: String(status) }, Number(process.hrtime.bigint() - startedNs) / 1e9);

  app.setErrorHandler((err: Error & { statusCode?: number; validationContext?: string }, _req, reply) => {
    if (err instanceof BadRequest) return reply.code(400).send({ error: capped(err.message) });
    if (hasZodFastifySchemaValidationErrors(err)) {
      // Query and path messages stand alone; body messages are prefixed with the field they are about.
      const issues = err.validation.map((v) => (err.validationContext === 'body' ? `${v.instancePath.slice(1).replace(/\//g, '.') || 'body'}: ${v.message}` : v.message));
      const msg = issues.join('; ');
      return reply.code(400).send({ error: capped(err.validationContext === 'body' ? `bad ${_req.routeOptions.url?.split('/').pop()} body: ${msg}` : msg) });
    }
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) log(`[api] ${err.message}`);
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : capped(err.message) });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${quotePrefix(req.url.split('?')[0])}` }));

  // A parameter given twice arrives as an array; say so before the schema sees it.
  app.addHook('preValidation', async (req) => {
    for (const [name, v] of Object.entries((req.query ?? {}) as Record<string, unknown>))
      if (Array.isArray(v)) throw new BadRequest(`${name.slice(0, 40)} given more than once`);
  });

  // Admin routes: the token is checked on request, before the body is read or parsed.
  const requireAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
    if (tokenMatches(req.headers.authorization, opts.adminToken)) return;
    const why = opts.adminToken ? 'missing or wrong bearer token' : 'admin routes are disabled: ADMIN_TOKEN is not set';
    return reply.code(401).header('www-authenticate', 'Bearer').send({ error: why });
  };

  const notFound = async (env: string, sku: string) =>
    (await knownSkus(opts.pool, [sku])).has(sku)
      ? `no forecast for SKU ${sku} in ${env} yet (no completed forecast run)`
      : `unknown SKU ${sku}`;

  app.get(
    '/api/v1/forecasts/:sku',
    { schema: { summary: 'One SKU\'s forecast', params: forecastParams, querystring: forecastQuery, response: answers.forecast } },
    async (req, reply) => {
      const started = process.hrtime.bigint();
      const { env, horizon: asked, level: levels } = req.query;
      const { sku } = req.params;
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
    },
  );

  app.get(
    '/api/v1/forecasts',
    { schema: { summary: 'Forecasts of several SKUs', querystring: batchQuery, response: answers.batch } },
    async (req, reply) => {
      const started = process.hrtime.bigint();
      const { env, horizon: asked, skus, level: levels } = req.query;
      const horizon = asked ?? (await reader.config(env)).FORECAST_HORIZON_DAYS;
      const results = await reader.readMany(env, skus, horizon);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const forecasts: ForecastAnswer[] = [];
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
    },
  );

  // The SKUs that have a forecast in the current run (`neuro traffic` draws its workload from them).
  app.get('/api/v1/skus', { schema: { summary: 'SKUs of the current run', querystring: skusQuery, response: answers.skus } }, async (req) => {
    const { env } = req.query;
    const runId = await currentRunId(opts.pool, env);
    return { environment: env, runId, skus: runId ? await runSkus(opts.pool, env, runId) : [] };
  });

  app.post(
    '/api/v1/admin/trigger-forecast',
    {
      onRequest: requireAdmin,
      schema: { summary: 'Start a forecastRun (admin)', security: [{ adminToken: [] }], body: triggerBody, response: answers.trigger },
    },
    async (req, reply) => {
      if (!opts.temporalClient) return reply.code(503).send({ error: 'no Temporal connection: cannot start a forecast run' });
      const { env, ...rest } = req.body;
      const handle = await startForecastRun(opts.temporalClient, { environment: env, ...rest, trigger: 'api' }, opts.taskQueue);
      return reply.code(202).send({ started: true as const, workflowId: handle.workflowId });
    },
  );

  // The admin token may roll back any rollout: the API signs the rollback with its own key (derived
  // from ADMIN_TOKEN, rostered as "api"), and the workflow verifies it like any other signature.
  app.post(
    '/api/v1/admin/rollouts/:release/rollback',
    {
      onRequest: requireAdmin,
      schema: { summary: 'Roll back a rollout (admin); answers once restored', security: [{ adminToken: [] }], params: rollbackParams, body: rollbackBody, response: answers.rollback },
    },
    async (req, reply) => {
      if (!opts.temporalClient) return reply.code(503).send({ error: 'no Temporal connection: cannot roll back' });
      const { release } = req.params;
      const key = adminSigningKey(opts.adminToken!);
      await ensureApiSigner(opts.pool, publicKeyPemOf(key));
      const workflowId = rolloutWorkflowId(release);
      const reason = `${req.body.reason} (admin token${req.body.by ? `, requested by ${req.body.by}` : ''})`;
      const payload = signPayload({ kind: 'rollback', release, workflowId }, { by: API_SIGNER, reason }, key);
      try {
        const answer = await opts.temporalClient.workflow.getHandle(workflowId).executeUpdate(rollbackUpdate, { args: [payload] });
        return reply.code(200).send({ rolledBack: true as const, workflowId, answer });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return reply.code(404).send({ error: `no running rollout of release ${release}` });
        if (err instanceof WorkflowUpdateFailedError) return reply.code(409).send({ error: capped(`refused: ${err.cause?.message ?? err.message}`) });
        throw err;
      }
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', response: answers.metrics } }, async (_req, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // The ops report (same page as `neuro report`): ?env=production&days=14
  app.get('/report', { schema: { summary: 'The ops report (HTML), as `neuro report`', querystring: reportQuery, response: answers.report } }, async (req, reply) => {
    const { env, days } = req.query;
    const html = renderOpsReport(await loadOpsReport(opts.pool, env, days));
    return reply.type('text/html; charset=utf-8').send(html);
  });

  app.get('/healthz', { schema: { summary: 'Health of the API, PostgreSQL and the cache', response: answers.healthz } }, async (_req, reply) => {
    const database = await databaseUp(opts.pool);
    const cache = await opts.cache.ping();
    const status = !database ? ('down' as const) : cache ? ('ok' as const) : ('degraded' as const);
    return reply.code(database ? 200 : 503).send({ status, database, cache: { kind: opts.cache.kind, up: cache } } as never);
  });

  app.get('/openapi.json', { schema: { summary: 'This OpenAPI document', response: answers.openapi } }, async () => app.swagger() as unknown as Record<string, unknown>);

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

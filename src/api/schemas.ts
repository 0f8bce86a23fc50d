import { RELEASE_PATTERN } from '../rollout/input';
import { z } from 'zod';
import { MAX_HORIZON } from '../cache/forecasts';
import { ENVIRONMENTS, SELECTION_POLICIES } from '../config/schema';
import { quotePrefix, SKU_ID_RE, SKU_ID_RULE, skuIdProblem } from '../db/sku-id';
import { parseLevels } from '../forecasting/conformal';
import { isValidIsoDate } from '../forecasting/dates';

/**
 * The API's request and answer schemas. Requests are validated by exactly these (zod, through
 * fastify's validator compiler) and /openapi.json is generated from them, so the document cannot
 * drift from what the routes accept. Messages name the parameter and quote at most a short prefix
 * of what was sent.
 */

export const MAX_BATCH_SKUS = 100;

const short = (name: string) => (name.length > 40 ? `${name.slice(0, 40)}...` : name);

/** Query parameters: only these names; each at most once (checked before validation, see server.ts). */
function query<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown parameter ${iss.keys.map(short).join(', ')} (allowed: ${allowed.join(', ')})` : undefined),
  });
}

const skuId = z
  .string()
  .regex(SKU_ID_RE, { error: (iss) => skuIdProblem(String(iss.input)) })
  .meta({ description: `SKU id: ${SKU_ID_RULE}`, example: 'SKU-0001' });

const env = z
  .enum(ENVIRONMENTS, { error: (iss) => `env must be one of ${ENVIRONMENTS.join(', ')}, got ${quotePrefix(String(iss.input))}` })
  .default('production')
  .meta({ description: 'environment whose forecasts to read' });

const horizonError = (iss: { input?: unknown }) => `horizon must be a whole number of days from 1 to ${MAX_HORIZON}, got ${quotePrefix(String(iss.input))}`;
const horizon = z
  .string({ error: horizonError })
  .regex(/^\d+$/, { error: horizonError })
  .refine((h) => Number(h) >= 1 && Number(h) <= MAX_HORIZON, { error: horizonError })
  .transform(Number)
  .optional()
  .meta({ description: `days to forecast, 1..${MAX_HORIZON} (default: the environment's FORECAST_HORIZON_DAYS)`, example: '7' });

const level = z
  .string()
  .transform((raw, ctx) => {
    // parseLevels is the rule; the message quotes only a prefix of the offending part.
    for (const part of raw.split(',')) {
      try {
        parseLevels([part], 'level');
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: `${(e as Error).message.split(', got ')[0]}, got ${quotePrefix(part.trim())}` });
        return z.NEVER;
      }
    }
    return parseLevels([raw], 'level');
  })
  .optional()
  .meta({ description: 'prediction-interval levels to include, comma-separated, each strictly between 0 and 100; only levels the run stores', example: '80,95' });

export const forecastParams = z.strictObject({ sku: skuId });
export const forecastQuery = query({ env, horizon, level });

export const batchQuery = query({
  env,
  horizon,
  level,
  skus: z
    .string({ error: 'skus is required: a comma-separated list of SKU ids' })
    .transform((list) => [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))])
    .pipe(
      z
        .array(skuId)
        .min(1, 'skus is empty')
        .max(MAX_BATCH_SKUS, { error: (iss) => `at most ${MAX_BATCH_SKUS} SKUs per request, got ${(iss.input as unknown[]).length}` }),
    )
    .meta({ description: `comma-separated SKU ids, at most ${MAX_BATCH_SKUS}`, example: 'SKU-0001,SKU-0002' }),
});

export const skusQuery = query({ env });

const daysError = (iss: { input?: unknown }) => `days must be a whole number from 1 to 90, got ${quotePrefix(String(iss.input))}`;
export const reportQuery = query({
  env,
  days: z
    .string({ error: daysError })
    .regex(/^\d+$/, { error: daysError })
    .refine((d) => Number(d) >= 1 && Number(d) <= 90, { error: daysError })
    .transform(Number)
    .default(14)
    .meta({ description: 'days the report covers, 1..90', example: '14' }),
});

export const triggerBody = z
  .strictObject(
    {
      env: z.enum(ENVIRONMENTS),
      runDate: z.string().refine(isValidIsoDate, 'is not a calendar date YYYY-MM-DD').optional(),
      horizon: z.number().int().min(1).max(MAX_HORIZON).optional(),
      maxParallel: z.number().int().min(1).max(64).optional(),
      batchSize: z.number().int().min(1).max(100_000).optional(),
      delayMs: z.number().int().min(0).max(60_000).optional(),
      policy: z.enum(SELECTION_POLICIES).optional(),
      skus: z.array(skuId).min(1).max(100_000).optional(),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field ${iss.keys.map(short).join(', ')}` : undefined) },
  )
  // No body at all is an empty object, so the answer names the missing env.
  .prefault({} as never);

export const rollbackParams = z.object({
  release: z.string().regex(RELEASE_PATTERN, 'release tags are letters, digits, dots, dashes and underscores (max 100)').meta({ description: 'the release tag of a running rollout', example: 'v19.3-batch-delay' }),
});
export const rollbackBody = z
  .strictObject(
    {
      reason: z.string({ error: 'is required' }).trim().min(1, 'is required').max(500),
      by: z.string().trim().min(1).max(100).optional().meta({ description: 'who asks (recorded with the reason); the rollback is signed by the API' }),
    },
    { error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field ${iss.keys.map(short).join(', ')}` : undefined) },
  )
  .prefault({} as never);

// Answers: described for the document (the hot path does not re-validate its own output).
export const errorAnswer = z.object({ error: z.string().meta({ description: 'what was wrong, naming the parameter' }) });
const forecast = z.object({
  sku: z.string(),
  environment: z.string(),
  runId: z.string(),
  model: z.string().meta({ description: 'the model that made this forecast' }),
  cohort: z.string().nullable().meta({ description: "the cohort of the SKU's model assignment in this run; null when the environment's policy served it" }),
  horizon: z.number().int(),
  intervalLevels: z.array(z.number()).optional().meta({ description: 'the levels whose bounds each point carries (with ?level=)' }),
  points: z.array(
    z
      .object({ ds: z.string().meta({ description: 'YYYY-MM-DD' }), value: z.number() })
      .catchall(z.number().nullable())
      .meta({ description: 'with ?level=: lo-<level> and hi-<level> bounds (null where the SKU has none)' }),
  ),
});

/** The forecast as answered (CachedForecast after forLevels). */
export type ForecastAnswer = z.output<typeof forecast>;

const described = <T extends z.ZodType>(schema: T, description: string) => schema.meta({ description });

const internal = { 500: described(errorAnswer, 'internal error (details in the server log)') };

export const answers = {
  forecast: {
    ...internal,
    200: described(forecast, 'the forecast (header x-cache: hit or miss)'),
    400: described(errorAnswer, 'a bad parameter, or a level the run does not store'),
    404: described(errorAnswer, 'unknown SKU, or no completed forecast run in that environment'),
  },
  batch: {
    ...internal,
    200: described(
      z.object({ environment: z.enum(ENVIRONMENTS), horizon: z.number().int(), forecasts: z.array(forecast), missing: z.array(z.string()) }),
      'forecasts found (header x-cache-hits) and the SKUs without one',
    ),
    400: described(errorAnswer, 'a bad parameter'),
  },
  skus: {
    ...internal,
    200: described(z.object({ environment: z.enum(ENVIRONMENTS), runId: z.string().nullable(), skus: z.array(z.string()) }), 'SKUs of the current run'),
    400: described(errorAnswer, 'a bad parameter'),
  },
  trigger: {
    ...internal,
    202: described(z.object({ started: z.literal(true), workflowId: z.string() }), 'forecastRun started'),
    400: described(errorAnswer, 'a bad body'),
    401: described(errorAnswer, 'missing or wrong bearer token (checked before the body is read), or ADMIN_TOKEN not set'),
    503: described(errorAnswer, 'no Temporal connection'),
  },
  rollback: {
    ...internal,
    200: described(z.object({ rolledBack: z.literal(true), workflowId: z.string(), answer: z.string() }), 'every environment the rollout changed is restored'),
    400: described(errorAnswer, 'a bad release tag or body'),
    401: described(errorAnswer, 'missing or wrong bearer token (checked before the body is read), or ADMIN_TOKEN not set'),
    404: described(errorAnswer, 'no running rollout of that release'),
    409: described(errorAnswer, 'the rollout refused the rollback (e.g. it has already ended)'),
    503: described(errorAnswer, 'no Temporal connection'),
  },
  healthz: {
    200: described(z.object({ status: z.enum(['ok', 'degraded']), database: z.boolean(), cache: z.object({ kind: z.enum(['redis', 'memory']), up: z.boolean() }) }), 'up (degraded: cache down, answers from PostgreSQL)'),
    503: described(z.object({ status: z.literal('down'), database: z.boolean(), cache: z.object({ kind: z.enum(['redis', 'memory']), up: z.boolean() }) }), 'PostgreSQL unreachable'),
  },
  report: { 200: { description: 'the report page', content: { 'text/html': { schema: z.string() } } }, 400: described(errorAnswer, 'a bad parameter'), ...internal },
  metrics: { 200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: z.string() } } } },
  openapi: { 200: described(z.record(z.string(), z.unknown()), 'this document (OpenAPI 3)') },
};

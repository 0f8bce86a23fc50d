import { z } from 'zod';
import { DEFAULT_OUTLIER_MAPE, MAX_HORIZON_DAYS } from '../forecasting/limits';
import { OUTLIER_METRICS } from '../forecasting/backtest';
import { SELECTION_POLICIES } from '../forecasting/select';

/**
 * Every tunable key of the kickoff plan, its rule and default, in one place. The process
 * environment overrides these defaults; per-environment values (staging, production) live in
 * PostgreSQL (see src/db/config-store.ts) and override both. Every value goes through parseConfigValue, so a
 * bad value is refused with the key and the rule named, wherever it comes from.
 */

export const ENVIRONMENTS = ['staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export { SELECTION_POLICIES };

/** Comma-separated interval levels, each strictly between 0 and 100; normalised ascending; "" or "none" = none. */
const levelList = z
  .string()
  .transform((s) => (s.trim() === 'none' ? '' : s))
  .pipe(z.string().regex(/^\s*(\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*)?\s*$/, 'must be comma-separated numbers')
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean).map(Number))
  .refine((ls) => ls.every((l) => l > 0 && l < 100), 'each level must be strictly between 0 and 100')
  .transform((ls) => [...new Set(ls)].sort((a, b) => a - b).join(',')));

/** Strict booleans: "true"/"false" only, so a typo is refused rather than read as false. */
const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]);
const int = (min: number, max: number) =>
  z.union([z.number(), z.string().regex(/^-?\d+$/, 'must be a whole number').transform(Number)]).pipe(
    z.number().int('must be a whole number').min(min, `must be >= ${min}`).max(max, `must be <= ${max}`),
  );
const num = (min: number, max: number) =>
  z
    .union([z.number(), z.string().regex(/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, 'must be a number').transform(Number)])
    .pipe(z.number().min(min, `must be between ${min} and ${max}`).max(max, `must be between ${min} and ${max}`));

interface KeySpec<T extends z.ZodType = z.ZodType> {
  schema: T;
  default: z.output<T>;
  rule: string;
  doc: string;
}
const key = <T extends z.ZodType>(schema: T, def: z.output<T>, rule: string, doc: string): KeySpec<T> => ({
  schema,
  default: def,
  rule,
  doc,
});

export const CONFIG_KEYS = {
  STREAMING_BATCH_DELAY_MS: key(int(0, 60_000), 500, 'whole number of ms, 0..60000', 'Durable delay between forecast batches (plan P1: 500 -> 300).'),
  FORECAST_BATCH_SIZE: key(int(1, 100_000), 100, 'whole number, 1..100000', 'SKUs per forecast batch (700 SKUs -> 7 batches).'),
  FORECAST_HORIZON_DAYS: key(int(1, MAX_HORIZON_DAYS), 7, `whole number of days, 1..${MAX_HORIZON_DAYS}`, 'Days forecast per SKU per run.'),
  FORECAST_MAX_PARALLEL_BATCHES: key(int(1, 64), 1, 'whole number, 1..64', 'Batches of one run that may execute at once.'),
  MEMORY_LIMIT_MB: key(int(0, 1_048_576), 0, 'whole number of MiB, 0 = cgroup limit or total memory', 'Denominator of the peak-memory percentage.'),
  ENABLE_PREDICTIVE_PREFETCH: key(bool, true, 'true or false', 'Pre-peak prefetch schedules run (false pauses them).'),
  PREFETCH_MORNING_PEAK_HOUR: key(int(0, 23), 11, 'hour 0..23 (UTC)', 'Morning traffic peak; prefetch runs lead-time minutes before.'),
  PREFETCH_AFTERNOON_PEAK_HOUR: key(int(0, 23), 17, 'hour 0..23 (UTC)', 'Afternoon traffic peak.'),
  PREFETCH_LEAD_TIME_MINUTES: key(int(1, 59), 2, 'whole number of minutes, 1..59', 'How long before a peak the prefetch starts.'),
  PREFETCH_TOP_N_QUERIES: key(int(1, 100_000), 50, 'whole number, 1..100000', 'Most frequent queries (last 30 days) to warm.'),
  PREFETCH_INCLUDE_RECENT: key(bool, true, 'true or false', 'Also warm the queries of the last 24 h.'),
  PREFETCH_PATTERN_SKUS: key(
    int(0, 100_000),
    150,
    'whole number, 0..100000 (0 = off)',
    // 150: the smallest measured value (bench:cache, 0/50/100/150/200) meeting the plan's 99.7% hit and <0.3% peak-miss targets.
    'Pattern expansion: the most-queried SKUs (30 days + 24 h) that also get every popular non-default horizon warmed.',
  ),
  PREFETCH_POST_DEPLOY_DELAY_MS: key(int(0, 3_600_000), 120_000, 'whole number of ms, 0..3600000', 'Wait after a deploy before its prefetch (plan: 2 min).'),
  CACHE_TTL_SECONDS: key(int(1, 30 * 86_400), 26 * 3600, 'whole number of seconds, 1..2592000', 'Lifetime of a cached forecast.'),
  ENABLE_HYBRID_FORECASTING: key(bool, true, 'true or false', 'Per-SKU model selection; false = Prophet for every SKU.'),
  SELECTION_POLICY: key(z.enum(SELECTION_POLICIES), 'plan', `one of ${SELECTION_POLICIES.join(', ')}`, 'How a model is picked per SKU.'),
  INTERMITTENT_DEMAND_ZERO_RATIO_THRESHOLD: key(num(0, 1), 0.5, 'number between 0 and 1', 'Zero ratio above which Croston is used.'),
  INTERMITTENT_DEMAND_CV_SQUARED_THRESHOLD: key(num(0, 1), 0.49, 'number between 0 and 1', 'CV² above which TSB is used.'),
  CROSTON_ALPHA: key(num(0, 1), 0.1, 'number between 0 and 1', 'Croston smoothing constant.'),
  TSB_ALPHA: key(num(0, 1), 0.1, 'number between 0 and 1', 'TSB demand-size smoothing constant.'),
  TSB_BETA: key(num(0, 1), 0.1, 'number between 0 and 1', 'TSB demand-probability smoothing constant.'),
  OUTLIER_MAPE_THRESHOLD: key(num(0, 1000), DEFAULT_OUTLIER_MAPE, 'percent, 0..1000', 'A SKU whose MAPE is above this is an outlier.'),
  HYBRID_FALLBACK_MAPE: key(num(0, 1000), 20, 'percent, 0..1000', "A hybrid rollout falls back by itself (automatic rollback) when the hybrid's overall MAPE is above this."),
  FORECAST_INTERVAL_LEVELS: key(levelList, '80,95', 'comma-separated levels strictly between 0 and 100, or "none"', 'Conformal prediction-interval levels each forecast run stores and the API serves (?level=).'),
  OUTLIER_METRIC: key(z.enum(OUTLIER_METRICS), 'mape', `one of ${OUTLIER_METRICS.join(', ')}`, 'Per-SKU metric the outlier threshold applies to (recorded in every summary).'),
} as const;

export type ConfigKey = keyof typeof CONFIG_KEYS;
export type ForecastConfig = { [K in ConfigKey]: z.output<(typeof CONFIG_KEYS)[K]['schema']> };
export type ConfigValue = ForecastConfig[ConfigKey];

export const CONFIG_KEY_NAMES = Object.keys(CONFIG_KEYS) as ConfigKey[];

export class ConfigError extends Error {
  constructor(readonly problems: { key: string; message: string }[]) {
    super(problems.map((p) => `${p.key}: ${p.message}`).join('; '));
    this.name = 'ConfigError';
  }
}

export function isConfigKey(k: string): k is ConfigKey {
  return Object.prototype.hasOwnProperty.call(CONFIG_KEYS, k);
}

function problemFor(k: string, raw: unknown): { key: string; message: string } | undefined {
  if (!isConfigKey(k)) return { key: k, message: `unknown key (known: ${CONFIG_KEY_NAMES.join(', ')})` };
  const spec = CONFIG_KEYS[k];
  const r = spec.schema.safeParse(typeof raw === 'string' ? raw.trim() : raw);
  if (r.success) return undefined;
  return { key: k, message: `${JSON.stringify(raw)} refused: must be ${spec.rule}` };
}

/** Parses one value; throws ConfigError naming the key and its rule. */
export function parseConfigValue<K extends ConfigKey>(k: K, raw: unknown): ForecastConfig[K] {
  const problem = problemFor(k, raw);
  if (problem) throw new ConfigError([problem]);
  return CONFIG_KEYS[k].schema.parse(typeof raw === 'string' ? raw.trim() : raw) as ForecastConfig[K];
}

/** Validates a whole change set at once: all values are good, or nothing is returned. */
export function parseChanges(changes: Record<string, unknown>): Partial<ForecastConfig> {
  const problems = Object.entries(changes)
    .map(([k, v]) => problemFor(k, v))
    .filter((p): p is { key: string; message: string } => p !== undefined);
  if (Object.keys(changes).length === 0) problems.push({ key: '(changes)', message: 'no keys given' });
  if (problems.length) throw new ConfigError(problems);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(changes)) out[k] = parseConfigValue(k as ConfigKey, v);
  return out as Partial<ForecastConfig>;
}

/** `KEY=VALUE ...`: every pair is validated before anything is written; one bad pair refuses all. */
export function parseAssignments(assignments: string[]): Record<string, string> {
  const changes: Record<string, string> = {};
  const problems: { key: string; message: string }[] = [];
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) problems.push({ key: a, message: 'expected KEY=VALUE' });
    else changes[a.slice(0, eq).trim()] = a.slice(eq + 1);
  }
  if (problems.length) throw new ConfigError(problems);
  return changes;
}

/** Plan defaults overlaid with the process environment's values for known keys (validated). */
export function defaultsFromEnv(env: NodeJS.ProcessEnv = process.env): ForecastConfig {
  const fromEnv: Record<string, string> = {};
  for (const k of CONFIG_KEY_NAMES) if (env[k] !== undefined && env[k] !== '') fromEnv[k] = env[k] as string;
  const parsed = Object.keys(fromEnv).length ? parseChanges(fromEnv) : {};
  const base = Object.fromEntries(CONFIG_KEY_NAMES.map((k) => [k, CONFIG_KEYS[k].default]));
  return { ...base, ...parsed } as ForecastConfig;
}

export function parseEnvironment(env: string): Environment {
  if ((ENVIRONMENTS as readonly string[]).includes(env)) return env as Environment;
  throw new ConfigError([{ key: 'environment', message: `unknown environment "${env}" (known: ${ENVIRONMENTS.join(', ')})` }]);
}

/** Infrastructure settings: process environment only, never per-environment. */
export interface InfraSettings {
  temporalAddress?: string;
  temporalNamespace: string;
  databaseUrl?: string;
  redisUrl?: string;
  adminToken?: string;
  taskQueue: string;
  /** HOST:PORT of the worker's Prometheus endpoint (SDK + application metrics); unset = off. */
  workerMetricsAddress?: string;
}

export function infraFromEnv(env: NodeJS.ProcessEnv = process.env): InfraSettings {
  return {
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    databaseUrl: env.DATABASE_URL || undefined,
    // REDIS_CLUSTER_NODES=host:port,... is the same as REDIS_URL=redis+cluster://host:port,... (a Redis Cluster).
    redisUrl: env.REDIS_CLUSTER_NODES ? `redis+cluster://${env.REDIS_CLUSTER_NODES}` : env.REDIS_URL || undefined,
    adminToken: env.ADMIN_TOKEN || undefined,
    taskQueue: env.NEURO_TASK_QUEUE || 'neuro-forecast',
    workerMetricsAddress: env.WORKER_METRICS_ADDRESS || undefined,
  };
}

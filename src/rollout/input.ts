import { z } from 'zod';
import { ENVIRONMENTS, parseAssignments, parseChanges, SELECTION_POLICIES } from '../config/schema';
import { isValidIsoDate } from '../forecasting/dates';
import { isServes, SERVES_VALUES } from '../forecasting/serves';
import { getPlan, isPrefetchKey, type RolloutPlan } from './plans';
import { COHORT_SELECTS, COMPARATORS, GATE_NAMES, type ConfigValue, type GateOverride, type GateSpec, type RolloutInput } from './types';

/** Validation and construction of rollout inputs (client and the workflow's first activity). */

export class RolloutInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutInputError';
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "24h", "30s", "7d", "1500ms" or a number of ms -> ms. */
export function parseDuration(v: string | number, what = 'duration'): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return Math.round(v);
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
    if (m) return Math.round(Number(m[1]) * UNITS[m[2]]);
  }
  throw new RolloutInputError(`${what}: ${JSON.stringify(v)} is not a duration (use e.g. 1500ms, 30s, 10m, 24h, 7d)`);
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}

export const RELEASE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const nonEmpty = (what: string) => z.string({ error: `${what} is required` }).trim().min(1, `${what} is required`);
const ms = z.number().int().min(0);
const role = z.string().regex(/^[a-z][a-z0-9-]*$/, 'roles are lower-case words with dashes, e.g. devops-lead');

const gateName = z.enum(GATE_NAMES, { error: (i) => `unknown gate ${JSON.stringify(i.input)} (known: ${GATE_NAMES.join(', ')})` });
const comparator = z.enum(COMPARATORS, { error: (i) => `operator ${JSON.stringify(i.input)} is not one of ${COMPARATORS.join(', ')}` });
const threshold = z.number({ error: 'the threshold must be a finite number' }).finite('the threshold must be a finite number');
/** One gate's criterion: what a plan's gate and a `--gate` override are both validated by. */
const criterionSchema = z.object({ gate: gateName, comparator, threshold });

const gateSchema = criterionSchema.extend({
  baselineFactor: z.number().positive().optional(),
  minSamples: z.number().int().min(0).optional(),
  mustHaveData: z.boolean().optional(),
});

const overrideSchema = criterionSchema
  .extend({
    replaced: z.object({ comparator, threshold }).strict().optional(),
    by: nonEmpty('overrides: by (who set it)'),
  })
  .strict();

const servesSchema = (what: string) =>
  z.string().refine(isServes, { error: (iss) => `${what} ${JSON.stringify(iss.input)} is neither a model nor a policy (${SERVES_VALUES.join(', ')})` });

const cohortsSchema = z
  .object({
    serves: servesSchema('cohorts.serves'),
    promotion: z.enum(['auto', 'manual'], { error: 'promotion must be auto or manual' }),
    steps: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'step names are lower-case words with dashes, e.g. top-5-outliers'),
            select: z.enum(COHORT_SELECTS, { error: `select must be one of ${COHORT_SELECTS.join(', ')}` }),
            count: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .min(1, 'a cohort rollout needs at least one step'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = c.steps.map((s) => s.name);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'two steps share a name' });
    const catalogue = c.steps.findIndex((s) => s.select === 'catalogue');
    // The change set reaches production in the catalogue step: without one it never would.
    if (catalogue !== c.steps.length - 1 || c.steps.filter((s) => s.select === 'catalogue').length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'the last step, and only it, must be the catalogue step (it applies the change set to production)' });
    }
    for (const [i, s] of c.steps.entries()) {
      if (s.select === 'top-outliers' && s.count === undefined) ctx.addIssue({ code: 'custom', path: ['steps', i, 'count'], message: 'top-outliers needs a count' });
    }
  });

const inputSchema = z
  .object({
    release: z.string().regex(RELEASE_PATTERN, 'release tags are letters, digits, dots, dashes and underscores (max 100)'),
    plan: z.string().optional(),
    description: nonEmpty('description'),
    author: nonEmpty('author'),
    changes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    stages: z
      .array(z.string())
      .refine((a) => a.length === 2 && a[0] === 'staging' && a[1] === 'production', 'stages must be ["staging", "production"] (staging first)'),
    validation: z.object({
      cycles: z.number().int().min(0).max(100),
      soakMs: ms,
      checkIntervalMs: z.number().int().min(100, 'checkIntervalMs must be >= 100'),
      baselineCycles: z.number().int().min(0).max(10),
      forecast: z
        .object({
          batchSize: z.number().int().positive().optional(),
          skus: z.array(z.string()).optional(),
          policy: z.enum(SELECTION_POLICIES, { error: `policy must be one of ${SELECTION_POLICIES.join(', ')}` }).optional(),
          runDate: z.string().refine(isValidIsoDate, 'runDate is not a date YYYY-MM-DD').optional(),
        })
        .strict()
        .optional(),
      prefetch: z.boolean().optional(),
      shadow: z.object({ challenger: servesSchema('shadow challenger') }).strict().optional(),
    }),
    gates: z.array(gateSchema),
    productionGates: z.array(gateSchema).optional(),
    confirmTimeoutMs: z.number().int().min(1).optional(),
    guard: z.object({ windowMs: ms, checkIntervalMs: z.number().int().min(100, 'guard checkIntervalMs must be >= 100') }).strict().optional(),
    cohorts: cohortsSchema.optional(),
    overrides: z.array(overrideSchema).optional(),
    signOffs: z.array(role).refine((r) => new Set(r).size === r.length, 'signOffs lists a role twice'),
    approvalTimeoutMs: z.number().int().min(1),
    monitor: z.object({
      windowMs: ms,
      checkIntervalMs: z.number().int().min(100, 'checkIntervalMs must be >= 100'),
      cycles: z.number().int().min(0).max(100),
      postDeployPrefetch: z.boolean(),
    }),
  })
  .strict()
  // An override is recorded as applied: its criterion must be what the gates now say.
  .superRefine((input, ctx) => {
    for (const [i, o] of (input.overrides ?? []).entries()) {
      for (const [field, gates] of [['gates', input.gates], ['productionGates', input.productionGates]] as const) {
        if (gates && !gates.some((g) => g.gate === o.gate && g.comparator === o.comparator && g.threshold === o.threshold)) {
          ctx.addIssue({ code: 'custom', path: ['overrides', i], message: `${o.gate} ${o.comparator} ${o.threshold} is not among the ${field}` });
        }
      }
    }
  });

/**
 * Validates a whole rollout input, including every config value of the change set (all-or-nothing).
 * Returns it with the change set parsed to typed values. Throws RolloutInputError naming each problem.
 */
export function parseRolloutInput(raw: unknown): RolloutInput {
  const r = inputSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
    throw new RolloutInputError(`invalid rollout input: ${problems.join('; ')}`);
  }
  let changes: Record<string, ConfigValue>;
  try {
    changes = parseChanges(r.data.changes) as Record<string, ConfigValue>;
  } catch (err) {
    throw new RolloutInputError(`invalid change set: ${(err as Error).message}`);
  }
  return { ...(r.data as RolloutInput), changes };
}

export interface PlanOverrides {
  release?: string;
  /** KEY=VALUE strings. */
  set?: string[];
  /** `--gate NAME<OP>VALUE` strings: a gate's threshold for this rollout, recorded as an override. */
  gate?: string[];
  /** How long to hold for `confirm` when monitoring ends with gates inconclusive. */
  confirmTimeout?: string;
  /** A hybrid rollout's fallback guard after monitoring (the plan's; "0" for none). */
  guard?: string;
  soak?: string;
  monitor?: string;
  cycles?: number;
  approvalTimeout?: string;
  author: string;
  description?: string;
  /** Rehearsal knobs (tests): smaller forecast runs, other gates, no post-deploy prefetch. */
  forecast?: RolloutInput['validation']['forecast'];
  checkInterval?: string;
  gates?: RolloutInput['gates'];
  baselineCycles?: number;
  monitorCycles?: number;
  postDeployPrefetch?: boolean;
  signOffs?: string[];
  /** Shadow A/B challenger (model or policy) in every validation cycle ("none" for none). */
  shadow?: string;
  /** A cohort plan's promotion between steps (the plan's by default). */
  promotion?: 'auto' | 'manual';
  /** false: production all at once even where the plan has cohort steps. */
  cohorts?: boolean;
}

/** A kickoff plan with a rehearsal's overrides, validated: what `neuro rollout start` starts. */
export function planToInput(planOrName: RolloutPlan | string, o: PlanOverrides): RolloutInput {
  const plan = typeof planOrName === 'string' ? getPlan(planOrName) : planOrName;
  const changes = { ...plan.changes, ...parseAssignments(o.set ?? []) };
  const shadow = o.shadow ?? plan.validation.shadow;
  const soakMs = parseDuration(o.soak ?? plan.validation.soak, '--soak');
  const windowMs = parseDuration(o.monitor ?? plan.monitor.window, '--monitor');
  const gated = applyGateOverrides(o.gates ?? plan.gates, (o.gate ?? []).map((flag) => parseGateFlag(flag, o.author)));
  // Checks at the plan's interval, but at least a few times within a shortened window.
  const interval = (window: number, planned: string) =>
    o.checkInterval ? parseDuration(o.checkInterval, 'checkInterval') : Math.max(100, Math.min(parseDuration(planned), Math.ceil(window / 4) || 100));
  return parseRolloutInput({
    release: o.release ?? plan.name,
    plan: plan.name,
    description: o.description ?? plan.description,
    author: o.author,
    changes,
    stages: [...ENVIRONMENTS],
    validation: {
      cycles: o.cycles ?? plan.validation.cycles,
      soakMs,
      checkIntervalMs: interval(soakMs, plan.validation.checkInterval),
      baselineCycles: o.baselineCycles ?? plan.validation.baselineCycles,
      ...(o.forecast ? { forecast: o.forecast } : {}),
      prefetch: plan.validation.prefetch ?? Object.keys(changes).some(isPrefetchKey),
      ...(shadow && shadow !== 'none' ? { shadow: { challenger: shadow } } : {}),
    },
    gates: gated.gates,
    ...(gated.overrides.length ? { overrides: gated.overrides } : {}),
    signOffs: o.signOffs ?? plan.signOffs,
    approvalTimeoutMs: parseDuration(o.approvalTimeout ?? plan.approvalTimeout, '--approval-timeout'),
    confirmTimeoutMs: parseDuration(o.confirmTimeout ?? plan.confirmTimeout, '--confirm-timeout'),
    ...guardOf(o.guard ?? plan.guard, (w) => interval(w, plan.monitor.checkInterval)),
    ...(plan.cohorts && o.cohorts !== false ? { cohorts: { ...plan.cohorts, promotion: o.promotion ?? plan.cohorts.promotion } } : {}),
    monitor: {
      windowMs,
      checkIntervalMs: interval(windowMs, plan.monitor.checkInterval),
      cycles: o.monitorCycles ?? 0,
      postDeployPrefetch: o.postDeployPrefetch ?? true,
    },
  });
}

/** The guard window and its check interval, or nothing for "0" or a plan without a guard. */
function guardOf(window: string | undefined, interval: (windowMs: number) => number): Pick<RolloutInput, 'guard'> {
  if (window === undefined || window === '0') return {};
  const windowMs = parseDuration(window, '--guard');
  return { guard: { windowMs, checkIntervalMs: interval(windowMs) } };
}

/**
 * `--gate 'NAME<OP>VALUE'` (e.g. `outlier-count<=10`, `mape<25`) -> an override by `by`, validated
 * like a plan's gate; the error names the flag's value.
 */
export function parseGateFlag(flag: string, by: string): GateOverride {
  const m = /^\s*([^<>=!\s]+)\s*([<>=!]+)\s*(.*?)\s*$/.exec(String(flag));
  const fail = (why: string) => new RolloutInputError(`--gate ${JSON.stringify(flag)}: ${why}`);
  if (!m) throw fail(`expected NAME<OP>VALUE, e.g. 'outlier-count<=10' (operators: ${COMPARATORS.join(', ')})`);
  // Number('') is 0 and Number(' ') too: an empty value is not a threshold.
  const value = m[3] === '' ? NaN : Number(m[3]);
  const r = criterionSchema.safeParse({ gate: m[1], comparator: m[2], threshold: value });
  if (!r.success) throw fail(r.error.issues.map((i) => (i.path[0] === 'threshold' ? `${JSON.stringify(m[3])} is not a number` : i.message)).join('; '));
  return { ...r.data, by };
}

/**
 * Applies overrides to a plan's gates: each replaces the criterion of every gate of its name (the
 * replaced one is recorded) or, for a gate the plan does not have, adds it.
 */
export function applyGateOverrides(planGates: GateSpec[], overrides: GateOverride[]): { gates: GateSpec[]; overrides: GateOverride[] } {
  let gates = planGates.map((g) => ({ ...g }));
  const recorded: GateOverride[] = [];
  for (const o of overrides) {
    if (recorded.some((x) => x.gate === o.gate)) throw new RolloutInputError(`--gate: ${o.gate} is overridden twice`);
    const planned = gates.find((g) => g.gate === o.gate);
    if (planned) {
      gates = gates.map((g) => (g.gate === o.gate ? { ...g, comparator: o.comparator, threshold: o.threshold } : g));
      recorded.push({ ...o, replaced: { comparator: planned.comparator, threshold: planned.threshold } });
    } else {
      gates.push({ gate: o.gate, comparator: o.comparator, threshold: o.threshold });
      recorded.push({ gate: o.gate, comparator: o.comparator, threshold: o.threshold, by: o.by });
    }
  }
  return { gates, overrides: recorded };
}

import { Context } from '@temporalio/activity';
import type { Activities } from '../../src/activities';
import type { BacktestBatchResult, ForecastBatchResult, PreparedBacktest, PreparedRun } from '../../src/activities/forecast';
import { defaultsFromEnv, type ForecastConfig } from '../../src/config/schema';
import { parseRolloutInput } from '../../src/rollout/input';
import { verifyAgainstRoster, type RosterLookup } from '../../src/activities/rollout';
import type { SignedKind } from '../../src/rollout/signoff';
import type { GateResult } from '../../src/rollout/types';
import { memoryRoster } from './signers';

/**
 * Activities for workflow tests on the time-skipping server: the real workflows, with activities
 * that keep config in memory, forecast nothing and pass (or fail) gates on demand, and log each call
 * with its workflow time (the server's skipped clock).
 */

export interface CallRecord {
  name: string;
  /** Workflow time the activity was scheduled at, ms. */
  at: number;
  input: unknown;
}

export interface FakeOptions {
  /** Verdict of a gate evaluation: 'fail' fails every gate of that call, 'inconclusive' leaves them without data. */
  gateVerdict?: (call: { environment: string; at: number; n: number }) => 'pass' | 'fail' | 'inconclusive';
  /** The hybrid's MAPE a fallback check measures (default 10, under HYBRID_FALLBACK_MAPE's 20). */
  hybridMape?: (call: { environment: string; at: number }) => number | null;
  /** Who is on the approvers roster (default: the test TEAM); signatures are verified for real against it. */
  roster?: RosterLookup;
}

/** A small run: 20 SKUs in 2 batches. */
function preparedRun(input: { runId: string; environment: string; runDate: string }, delayMs: number): PreparedRun {
  return {
    runId: input.runId, environment: input.environment, runDate: input.runDate, skus: 20, batches: 2, batchSize: 10, horizon: 7, maxParallel: 1,
    initialDelayMs: delayMs, delayOverridden: false, outlierThreshold: 25, memoryLimitMb: 0,
    selection: { policy: 'plan', hybridEnabled: true, zeroRatioThreshold: 0.5, cvSquaredThreshold: 0.49, crostonAlpha: 0.1, tsbAlpha: 0.1, tsbBeta: 0.1 },
  };
}

export function fakeActivities(o: FakeOptions = {}) {
  const calls: CallRecord[] = [];
  const config: Record<string, ForecastConfig> = { staging: defaultsFromEnv({}), production: defaultsFromEnv({}) };
  const log = (name: string, input: unknown) => {
    const at = Context.current().info.scheduledTimestampMs;
    calls.push({ name, at, input });
    return at;
  };
  let gateCalls = 0;
  const roster = o.roster ?? memoryRoster();

  const activities = {
    async getConfig(environment: string) {
      log('getConfig', environment);
      return config[environment];
    },
    async snapshotConfig(input: { environment: string; keys: string[] }) {
      log('snapshotConfig', input);
      return Object.fromEntries(input.keys.map((k) => [k, config[input.environment][k as keyof ForecastConfig]]));
    },
    async applyConfig(input: { environment: string; changes: Record<string, unknown> }) {
      log('applyConfig', input);
      const env = config[input.environment] as unknown as Record<string, unknown>;
      return Object.entries(input.changes).map(([key, value]) => {
        const old = env[key];
        env[key] = value ?? (defaultsFromEnv({}) as unknown as Record<string, unknown>)[key];
        return { key, old, new: env[key], version: 1 };
      });
    },
    /** Compare-and-set like the real one: a key that no longer holds what the release wrote is left alone. */
    async restoreConfig(input: { environment: string; snapshot: Record<string, unknown>; expected: Record<string, unknown> }) {
      log('restoreConfig', input);
      const env = config[input.environment] as unknown as Record<string, unknown>;
      const defaults = defaultsFromEnv({}) as unknown as Record<string, unknown>;
      const conflicts = Object.keys(input.snapshot)
        .filter((key) => env[key] !== (input.expected[key] ?? defaults[key]))
        .map((key) => ({ environment: input.environment, key, wrote: input.expected[key], live: env[key], snapshot: input.snapshot[key], version: 1, changedBy: 'fake', changedAt: null }));
      if (conflicts.length) return { restored: [], conflicts };
      const restored = Object.entries(input.snapshot).map(([key, value]) => {
        const old = env[key];
        env[key] = value ?? defaults[key];
        return { key, old, new: env[key], version: 1 };
      });
      return { restored, conflicts };
    },
    async hybridFallbackCheck(a: { environment: string }) {
      const at = log('hybridFallbackCheck', a);
      const measured = o.hybridMape ? o.hybridMape({ environment: a.environment, at }) : 10;
      const threshold = config[a.environment].HYBRID_FALLBACK_MAPE;
      return { measured, threshold, runId: null, breach: measured !== null && measured > threshold };
    },
    async releaseKeyClaims() {
      return 0;
    },
    async compareShadowRuns(a: { environment: string; runIds: string[]; challenger: string }) {
      log('compareShadowRuns', a);
      const f = (mape: number) => ({ skus: 20, mape, wape: mape, rmsse: 0.8, outlierCount: 1, outlierMape: 30 });
      return { champion: 'Prophet', challenger: a.challenger, cycles: a.runIds.length, overall: { champion: f(12), challenger: f(10) }, byClass: {} };
    },
    /** Cohorts from a fixed ranking: S01..S09 are outliers, worst first. */
    async chooseCohort(a: { environment: string; step: { select: string; count?: number }; earlier: string[]; reference?: { runId: string | null; threshold: number } }) {
      log('chooseCohort', a);
      const outliers = Array.from({ length: 9 }, (_, i) => `S0${i + 1}`);
      const picked = a.step.select === 'catalogue' ? 'all' : a.step.select === 'top-outliers' ? outliers.slice(0, a.step.count) : outliers;
      return { skus: picked === 'all' ? ('all' as const) : [...new Set([...a.earlier, ...picked])].sort(), reference: a.reference ?? { runId: 'reference-run', threshold: 25 } };
    },
    async assignCohort(a: { environment: string; skus: string[] }) {
      log('assignCohort', a);
      return { assigned: a.skus };
    },
    async restoreCohortAssignments(a: { environment: string }) {
      log('restoreCohortAssignments', a);
      return { restored: 9, skipped: [] };
    },
    async prepareRollout({ input }: { input: unknown }) {
      log('prepareRollout', input);
      return parseRolloutInput(input);
    },
    async verifySignoff(a: { kind: SignedKind; release: string; workflowId: string; payload: Record<string, unknown> }) {
      log('verifySignoff', a);
      return verifyAgainstRoster(roster, a);
    },
    async recordRollout() {},
    async writeReleaseRecord() {
      return { evaluations: gateCalls };
    },
    async evaluateRolloutGates(a: { environment: string; gates: { gate: string; comparator: string; threshold: number }[] }): Promise<GateResult[]> {
      const at = log('evaluateRolloutGates', a);
      const status = o.gateVerdict?.({ environment: a.environment, at, n: ++gateCalls }) ?? 'pass';
      return a.gates.map((g) => ({
        ...g, environment: a.environment, status, measured: status === 'inconclusive' ? null : 1, unit: '', samples: status === 'inconclusive' ? 0 : 1, baseline: null,
        windowStart: new Date(at).toISOString(), windowEnd: new Date(at).toISOString(), detail: `${g.gate} ${status} (fake)`,
      }) as GateResult);
    },
    async prepareForecastRun(input: { runId: string; environment: string; runDate: string }): Promise<PreparedRun> {
      log('prepareForecastRun', input);
      return preparedRun(input, config[input.environment].STREAMING_BATCH_DELAY_MS);
    },
    async batchDelayMs(environment: string) {
      return config[environment].STREAMING_BATCH_DELAY_MS;
    },
    async forecastBatch(input: { batchIndex: number }): Promise<ForecastBatchResult> {
      log('forecastBatch', input);
      return { batchIndex: input.batchIndex, skus: 10, attempt: 1, durationMs: 5, peakRssMb: 100, peakMemoryPct: 1, modelCounts: { Prophet: 10 }, alreadyDone: false };
    },
    async finishForecasting() {},
    async completeForecastRun() {},
    async failForecastRun() {},
    async latestAccuracy() {
      return { mape: 10, wape: 10, mase: 1, outlierCount: 0, outlierSkus: [] };
    },
    async preloadForecasts() {
      return { keys: 20, durationMs: 1 };
    },
    async prepareBacktest(input: { backtestId: string; environment: string; runDate: string }): Promise<PreparedBacktest> {
      return { ...preparedRun({ runId: input.backtestId, ...input }, 0), backtestId: input.backtestId, windows: 1, step: 7 };
    },
    async backtestBatch(input: { batchIndex: number }): Promise<BacktestBatchResult> {
      return {
        batchIndex: input.batchIndex, skus: 10, skipped: 0, mapeSum: 100, mapeCount: 10, maseSum: 10, maseCount: 10,
        sumAbsErr: 10, sumAbsActual: 100, outlierCount: 0, outliers: [], modelCounts: { Prophet: 10 }, durationMs: 5,
      };
    },
    async prefetchTopQueries(input: { prefetchId: string }) {
      log('prefetchTopQueries', input);
      return { status: 'completed' as const, runId: 'run', queries: 50, keysWarmed: 50, topKeys: 50, patternKeys: 0, patternHorizons: [], durationMs: 5, memoryImpactPct: 0 };
    },
    async recordSkippedPrefetch() {},
  };
  return { activities: activities as unknown as Activities, calls, config };
}

import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type Connection, type ScheduleDescription } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { infraFromEnv, parseEnvironment, type Environment, type ForecastConfig } from '../../config/schema';
import { getEnvironmentConfig } from '../../db/config-store';
import { dailySnapshot } from '../../workflows/daily-snapshot';
import { forecastRun } from '../../workflows/forecast-run';
import { prefetch } from '../../workflows/prefetch';
import { ENVIRONMENT, TRIGGER } from '../../workflows/search-attributes';
import { ensureSearchAttributes } from '../temporal-server';
import { connectTemporal, openDatabase, resolveInfra } from '../services';

/**
 * `neuro schedules apply|list`: the plan's cron jobs (and the daily snapshot) as Temporal Schedules, created or updated
 * idempotently from the environment's configuration. ENABLE_PREDICTIVE_PREFETCH=false pauses the
 * prefetch schedules (they are kept, with their history, and resume on the next apply).
 */

/** The workflow a schedule starts, with its arguments type-checked against the workflow function. */
type Started =
  | { workflowType: typeof forecastRun; args: Parameters<typeof forecastRun> }
  | { workflowType: typeof prefetch; args: Parameters<typeof prefetch> }
  | { workflowType: typeof dailySnapshot; args: Parameters<typeof dailySnapshot> };

export type ScheduleDefinition = Started & {
  scheduleId: string;
  hour: number;
  minute: number;
  comment: string;
  /** undefined: leave the pause state alone (an operator may have paused it on purpose). */
  paused?: boolean;
  note?: string;
  catchupWindow: Duration;
};

/**
 * When a prefetch runs: lead-time minutes before the peak. The plan's peaks begin at PEAK_HOUR:30
 * UTC (11:30, 17:30), the same windows hitRate() uses, so the defaults give 11:28 and 17:28.
 */
export function prefetchTime(peakHour: number, leadMinutes: number): { hour: number; minute: number } {
  const m = (((peakHour * 60 + 30 - leadMinutes) % 1440) + 1440) % 1440;
  return { hour: Math.floor(m / 60), minute: m % 60 };
}

export function scheduleIdFor(base: string, environment: Environment): string {
  return environment === 'production' ? base : `${base}-${environment}`;
}

export function scheduleDefinitions(environment: Environment, config: ForecastConfig): ScheduleDefinition[] {
  const enabled = config.ENABLE_PREDICTIVE_PREFETCH;
  const prefetchState = {
    paused: !enabled,
    note: enabled ? 'ENABLE_PREDICTIVE_PREFETCH=true' : 'paused by neuro schedules apply: ENABLE_PREDICTIVE_PREFETCH=false',
  };
  const morning = prefetchTime(config.PREFETCH_MORNING_PEAK_HOUR, config.PREFETCH_LEAD_TIME_MINUTES);
  const afternoon = prefetchTime(config.PREFETCH_AFTERNOON_PEAK_HOUR, config.PREFETCH_LEAD_TIME_MINUTES);
  return [
    {
      scheduleId: scheduleIdFor('forecast-daily', environment),
      workflowType: forecastRun,
      args: [{ environment }],
      hour: 2,
      minute: 0,
      comment: 'daily forecast run, 02:00 UTC',
      catchupWindow: '6 hours',
    },
    {
      scheduleId: scheduleIdFor('prefetch-morning-peak', environment),
      workflowType: prefetch,
      args: [{ environment, trigger: 'schedule' }],
      ...morning,
      comment: `prefetch before the morning peak (${config.PREFETCH_MORNING_PEAK_HOUR}:30 UTC)`,
      ...prefetchState,
      // A warm-up after the peak has begun is still worth it for a short while, not for hours.
      catchupWindow: '15 minutes',
    },
    {
      scheduleId: scheduleIdFor('prefetch-afternoon-peak', environment),
      workflowType: prefetch,
      args: [{ environment, trigger: 'schedule' }],
      ...afternoon,
      comment: `prefetch before the afternoon peak (${config.PREFETCH_AFTERNOON_PEAK_HOUR}:30 UTC)`,
      ...prefetchState,
      catchupWindow: '15 minutes',
    },
    {
      scheduleId: scheduleIdFor('daily-snapshot', environment),
      workflowType: dailySnapshot,
      args: [{ environment }],
      hour: 3,
      minute: 0,
      comment: 'daily snapshot of the previous UTC day, 03:00 UTC',
      catchupWindow: '6 hours',
    },
  ];
}

export interface ApplyResult {
  scheduleId: string;
  outcome: 'created' | 'updated';
  time: string;
  paused: boolean;
}

const hhmm = (h: number, m: number) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;

/** Creates each schedule, or updates it in place when it exists; then enforces the pause state. */
export async function applySchedules(client: Client, environment: Environment, config: ForecastConfig, taskQueue: string): Promise<ApplyResult[]> {
  const out: ApplyResult[] = [];
  for (const def of scheduleDefinitions(environment, config)) {
    const spec = { calendars: [{ hour: def.hour, minute: def.minute, comment: def.comment }] };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: def.workflowType,
      args: def.args,
      taskQueue,
      workflowId: def.scheduleId,
      // What the Web UI's workflow list shows for each scheduled run.
      staticSummary: `${def.comment} (${environment})`,
      typedSearchAttributes: [
        { key: ENVIRONMENT, value: environment },
        { key: TRIGGER, value: 'schedule' },
      ],
    };
    const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: def.catchupWindow };
    let outcome: ApplyResult['outcome'] = 'created';
    try {
      await client.schedule.create({
        scheduleId: def.scheduleId,
        spec,
        action,
        policies,
        state: { paused: def.paused ?? false, note: def.note },
        memo: { environment, managedBy: 'neuro schedules apply' },
      });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      outcome = 'updated';
      await client.schedule.getHandle(def.scheduleId).update((prev: ScheduleDescription) => ({
        spec,
        action,
        policies,
        state: def.paused === undefined ? prev.state : { paused: def.paused, note: def.note },
      }));
    }
    const handle = client.schedule.getHandle(def.scheduleId);
    let paused = (await handle.describe()).state.paused;
    if (def.paused !== undefined && paused !== def.paused) {
      if (def.paused) await handle.pause(def.note);
      else await handle.unpause(def.note);
      paused = def.paused;
    }
    out.push({ scheduleId: def.scheduleId, outcome, time: `${hhmm(def.hour, def.minute)} UTC`, paused });
  }
  return out;
}

export interface ScheduleLine {
  scheduleId: string;
  workflowType: string;
  times: string[];
  paused: boolean;
  note?: string;
  nextRuns: string[];
}

function calendarTimes(d: ScheduleDescription): string[] {
  return (d.spec.calendars ?? []).map((c) => {
    const h = c.hour.map((r) => r.start).join(',');
    const m = c.minute.map((r) => r.start).join(',');
    return `${h.padStart(2, '0')}:${m.padStart(2, '0')} UTC`;
  });
}

export async function listSchedules(client: Client): Promise<ScheduleLine[]> {
  const out: ScheduleLine[] = [];
  for await (const summary of client.schedule.list()) {
    const d = await client.schedule.getHandle(summary.scheduleId).describe();
    out.push({
      scheduleId: d.scheduleId,
      workflowType: d.action.workflowType,
      times: calendarTimes(d),
      paused: d.state.paused,
      note: d.state.note,
      nextRuns: d.info.nextActionTimes.slice(0, 2).map((t) => t.toISOString()),
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export async function schedulesApply(opts: { env: string }): Promise<void> {
  const environment = parseEnvironment(opts.env);
  const db = await openDatabase(resolveInfra());
  let config: ForecastConfig;
  try {
    config = await getEnvironmentConfig(db.pool, environment);
  } finally {
    await db.stop();
  }
  const temporal = await connectTemporal();
  try {
    // A server we did not start may lack the search attributes the scheduled workflows carry.
    await ensureSearchAttributes(temporal.client.connection as Connection, temporal.client.options.namespace);
    const results = await applySchedules(temporal.client, environment, config, infraFromEnv().taskQueue);
    for (const r of results) console.log(`${r.outcome.padEnd(8)} ${r.scheduleId.padEnd(32)} ${r.time}${r.paused ? '  (paused)' : ''}`);
    if (!config.ENABLE_PREDICTIVE_PREFETCH) console.log('ENABLE_PREDICTIVE_PREFETCH=false: prefetch schedules are paused, not deleted');
  } finally {
    await temporal.close();
  }
}

export async function schedulesList(): Promise<void> {
  const temporal = await connectTemporal();
  try {
    const lines = await listSchedules(temporal.client);
    if (!lines.length) console.log('No schedules. Create them with `neuro schedules apply --env production`.');
    for (const l of lines) {
      console.log(
        `${l.scheduleId.padEnd(32)} ${l.workflowType.padEnd(12)} ${l.times.join(', ').padEnd(10)} ${l.paused ? 'PAUSED' : 'active'}` +
          `${l.nextRuns.length && !l.paused ? `  next ${l.nextRuns[0]}` : ''}${l.paused && l.note ? `  (${l.note})` : ''}`,
      );
    }
  } finally {
    await temporal.close();
  }
}

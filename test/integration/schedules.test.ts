import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, type ScheduleDescription } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { applySchedules, prefetchTime } from '../../src/client/commands/schedules';
import { ensureSearchAttributes } from '../../src/client/temporal-server';
import { defaultsFromEnv, type ForecastConfig } from '../../src/config/schema';
import { setConfig } from '../../src/db/config-store';
import { freshDatabase, testTemporal, testTemporalAddress, type TestDatabase, type TestTemporal } from '../helpers/env';

/** Schedules on the dev server, in a namespace of this test's own (the schedule ids are fixed names). */

let t: TestTemporal;
let client: Client;
let db: TestDatabase;
const namespace = `neuro-schedules-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  t = await testTemporal();
  db = await freshDatabase();
  await t.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  client = new Client({ connection: t.connection, namespace });
  // A new namespace takes a moment to be served.
  for (let i = 0; ; i++) {
    try {
      await ensureSearchAttributes(t.connection, namespace);
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

afterAll(async () => {
  if (client) for await (const s of client.schedule.list()) await client.schedule.getHandle(s.scheduleId).delete();
  await t?.close();
  await db?.drop();
});

const config = (over: Partial<ForecastConfig> = {}): ForecastConfig => ({ ...defaultsFromEnv({}), ...over });
const at = (d: ScheduleDescription) => d.spec.calendars!.map((c) => [c.hour[0].start, c.minute[0].start]);
const describe = (id: string) => client.schedule.getHandle(id).describe();

test('prefetch time: lead-time minutes before PEAK_HOUR:30 UTC, wrapping at midnight', () => {
  expect(prefetchTime(11, 2)).toEqual({ hour: 11, minute: 28 });
  expect(prefetchTime(17, 2)).toEqual({ hour: 17, minute: 28 });
  expect(prefetchTime(0, 45)).toEqual({ hour: 23, minute: 45 });
});

test('apply creates forecast-daily and the two prefetch schedules with the plan calendar; applying again updates in place', async () => {
  const created = await applySchedules(client, 'production', config(), 'neuro-forecast');
  expect(created.map((r) => [r.scheduleId, r.outcome, r.time, r.paused])).toEqual([
    ['forecast-daily', 'created', '02:00 UTC', false],
    ['prefetch-morning-peak', 'created', '11:28 UTC', false],
    ['prefetch-afternoon-peak', 'created', '17:28 UTC', false],
    ['daily-snapshot', 'created', '03:00 UTC', false],
  ]);
  const snapshot = await describe('daily-snapshot');
  expect(at(snapshot)).toEqual([[3, 0]]);
  expect(snapshot.action).toMatchObject({ workflowType: 'dailySnapshot', args: [{ environment: 'production' }], staticSummary: 'daily snapshot of the previous UTC day, 03:00 UTC (production)' });
  const daily = await describe('forecast-daily');
  expect(at(daily)).toEqual([[2, 0]]);
  expect(daily.action).toMatchObject({ type: 'startWorkflow', workflowType: 'forecastRun', taskQueue: 'neuro-forecast', args: [{ environment: 'production' }] });
  const morning = await describe('prefetch-morning-peak');
  expect(at(morning)).toEqual([[11, 28]]);
  expect(morning.action).toMatchObject({ workflowType: 'prefetch', args: [{ environment: 'production', trigger: 'schedule' }] });
  expect(at(await describe('prefetch-afternoon-peak'))).toEqual([[17, 28]]);
  const next = morning.info.nextActionTimes[0];
  expect([next.getUTCHours(), next.getUTCMinutes()]).toEqual([11, 28]);

  const again = await applySchedules(client, 'production', config(), 'neuro-forecast');
  expect(again.map((r) => r.outcome)).toEqual(['updated', 'updated', 'updated', 'updated']);
  const ids: string[] = [];
  for await (const s of client.schedule.list()) ids.push(s.scheduleId);
  expect(ids.filter((id) => !id.endsWith('-staging')).sort()).toEqual(['daily-snapshot', 'forecast-daily', 'prefetch-afternoon-peak', 'prefetch-morning-peak']);
});

test('ENABLE_PREDICTIVE_PREFETCH=false pauses (not deletes) the prefetch schedules; true resumes them; config changes move them', async () => {
  const off = await applySchedules(client, 'production', config({ ENABLE_PREDICTIVE_PREFETCH: false, PREFETCH_LEAD_TIME_MINUTES: 5, PREFETCH_MORNING_PEAK_HOUR: 10 }), 'neuro-forecast');
  expect(off.map((r) => [r.scheduleId, r.time, r.paused])).toEqual([
    ['forecast-daily', '02:00 UTC', false],
    ['prefetch-morning-peak', '10:25 UTC', true],
    ['prefetch-afternoon-peak', '17:25 UTC', true],
    ['daily-snapshot', '03:00 UTC', false],
  ]);
  const morning = await describe('prefetch-morning-peak');
  expect(morning.state.paused).toBe(true);
  expect(morning.state.note).toMatch(/ENABLE_PREDICTIVE_PREFETCH=false/);
  expect(at(morning)).toEqual([[10, 25]]);
  expect((await describe('forecast-daily')).state.paused).toBe(false);

  const on = await applySchedules(client, 'production', config(), 'neuro-forecast');
  expect(on.map((r) => r.paused)).toEqual([false, false, false, false]);
  expect((await describe('prefetch-afternoon-peak')).state.paused).toBe(false);
  expect(at(await describe('prefetch-afternoon-peak'))).toEqual([[17, 28]]);
});

test('`neuro schedules apply --env staging` reads the staging config from the database; ids get -staging', async () => {
  await setConfig(db.pool, 'staging', { ENABLE_PREDICTIVE_PREFETCH: false }, 'test');
  const env = { ...process.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: testTemporalAddress(), TEMPORAL_NAMESPACE: namespace, NEURO_TASK_QUEUE: 'q-staging' };
  const neuro = join(__dirname, '..', '..', 'bin', 'neuro.js');
  const run = (args: string[]) => promisify(execFile)(process.execPath, [neuro, ...args], { env });
  const applied = await run(['schedules', 'apply', '--env', 'staging']);
  expect(applied.stdout).toMatch(/created\s+forecast-daily-staging\s+02:00 UTC/);
  expect(applied.stdout).toMatch(/created\s+prefetch-morning-peak-staging\s+11:28 UTC\s+\(paused\)/);
  expect(applied.stdout).toMatch(/paused, not deleted/);
  const staging = await describe('prefetch-afternoon-peak-staging');
  expect(staging.state.paused).toBe(true);
  expect(staging.action).toMatchObject({ taskQueue: 'q-staging', args: [{ environment: 'staging', trigger: 'schedule' }] });
  const listed = await run(['schedules', 'list']);
  expect(listed.stdout).toMatch(/prefetch-morning-peak-staging\s+prefetch\s+11:28 UTC\s+PAUSED/);
  expect(listed.stdout).toMatch(/forecast-daily\s+forecastRun\s+02:00 UTC\s+active/);

  const bad = await run(['schedules', 'apply', '--env', 'qa']).catch((e) => e as { code: number; stderr: string });
  expect('code' in bad && bad.code).toBe(1);
  expect((bad as { stderr: string }).stderr).toMatch(/unknown environment "qa"/);
});

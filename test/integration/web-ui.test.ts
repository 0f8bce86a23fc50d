import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { startForecastRun } from '../../src/client/starters';
import { noGoUpdate } from '../../src/workflows/messages';
import { rosterTeam, sign, TEAM } from '../helpers/signers';
import { RUN_DATE, historyEvents, startStack, type HistoryEvent, type Stack } from './forecast-run.helpers';
import { rehearsal, start, untilStatus, waitFor } from './rollout.helpers';

jest.setTimeout(300_000);

/**
 * What a user sees in the Temporal Web UI: each workflow's static summary and details (set by the
 * starters), names on its timers and activities, and a rollout's live current details.
 */

const E = temporal.api.enums.v1.EventType;
const summaryOf = (e: HistoryEvent) => (e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary as never) : undefined);
const summaries = (events: HistoryEvent[], type: number) => events.filter((e) => e.eventType === type).map(summaryOf);
/** The metadata query the Web UI sends for "current details". */
const currentDetails = async (h: { query(name: string): Promise<unknown> }) => ((await h.query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ skus: 24 });
  await rosterTeam(stack.db.pool); // a rollout starts only when every sign-off role has a holder
});
afterAll(() => stack?.stop());

test('a forecast run: summary and details on start, named gaps and batches, progress as current details', async () => {
  const h = await startForecastRun(stack.temporal.client, { environment: 'staging', runDate: RUN_DATE, batchSize: 6, delayMs: 300, accuracy: 'none', preload: false }, stack.temporal.taskQueue);
  await h.result();
  const d = await h.describe();
  expect(await d.staticSummary()).toBe(`forecast staging ${RUN_DATE} (manual)`);
  expect(await d.staticDetails()).toBe("Overrides: batch size 6, batch delay 300 ms, no cache preload, accuracy: none; the rest from the environment's configuration.");
  const events = await historyEvents(h);
  expect(summaries(events, E.EVENT_TYPE_TIMER_STARTED)).toEqual(['gap 1/3 (300 ms)', 'gap 2/3 (300 ms)', 'gap 3/3 (300 ms)']);
  const batches = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'forecastBatch').map(summaryOf);
  expect(batches).toEqual(['batch 1/4', 'batch 2/4', 'batch 3/4', 'batch 4/4']);
  expect(await currentDetails(h)).toMatch(/^staging 2025-03-01: 24 SKUs in 4 batches of 6; 4\/4 done, delay 300 ms/);
});

test('a rollout: summary, details, named timers and activities, live details while it waits for sign-offs', async () => {
  // The plan's MAPE < 20% is for its own data (the synthetic catalogue's is higher): two of P1's gates.
  const input = rehearsal({
    soak: '2s',
    approvalTimeout: '10m',
    gates: [
      { gate: 'forecast-duration', comparator: '<', threshold: 84_000 },
      { gate: 'peak-memory', comparator: '<', threshold: 62 },
    ],
  });
  const h = await start(stack, input);
  await untilStatus(h, (s) => s.stage === 'approval' || (s.state !== 'running' && s.state !== 'awaiting-approval'), 'the approval stage');
  const d = await h.describe();
  expect(await d.staticSummary()).toBe(`rollout ${input.release}: ${input.description}`);
  const details = await d.staticDetails();
  expect(details).toContain('**Changes**: STREAMING_BATCH_DELAY_MS=300');
  expect(details).toContain('**Sign-offs**: product-owner, devops-lead, security, on-call, then GO within 10m');
  const live = await currentDetails(h);
  expect(live).toContain(`**${input.release}**: stage **approval**, awaiting-approval`);
  expect(live).toMatch(/gates staging: forecast-duration pass: \d+ ms \(< 84000 ms\); peak-memory pass: [\d.]+ % \(< 62 %\)/);
  expect(live).toContain('sign-offs missing: product-owner, devops-lead');
  expect(live).toMatch(/approval deadline \d{4}-\d\d-\d\dT/);
  // The approval timer is in the history once the workflow task that entered the stage completed.
  const events = await waitFor(async () => {
    const ev = await historyEvents(h);
    return summaries(ev, E.EVENT_TYPE_TIMER_STARTED).includes('approval deadline (10 min)') && ev;
  }, 'the approval timer');
  const acts = events.filter((e) => e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map(summaryOf);
  expect(acts).toContain('apply STREAMING_BATCH_DELAY_MS to staging');
  expect(acts).toContain('gates staging: forecast-duration, peak-memory');
  const children = events.filter((e) => e.eventType === E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED).map(summaryOf);
  expect(children).toContain(`validation-cycle-1 of rollout ${input.release} (staging)`);
  await h.executeUpdate(noGoUpdate, { args: [sign(h.workflowId, 'noGo', { by: 'pat', reason: 'test over' }, TEAM.pat)] });
  await untilStatus(h, (s) => s.state === 'no-go' && s.stage === 'done', 'NO-GO recorded');
  expect(await currentDetails(h)).toContain('stage **done**, no-go');
});

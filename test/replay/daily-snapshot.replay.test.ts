import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { Worker } from '@temporalio/worker';
import { testWorkflowBundle } from '../helpers/env';

/**
 * The dailySnapshot history recorded by test/integration/ops.test.ts replays against today's
 * workflow code. After an intended, patched change re-record it with RECORD_HISTORIES=1.
 */
const FILE = join(__dirname, '..', 'fixtures', 'histories', 'daily-snapshot.json');

function readHistory(file: string): proto.temporal.api.history.v1.History {
  const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] }));
  const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
  const type = root.lookupType('temporal.api.history.v1.History');
  return protojson.fromJson(type, JSON.parse(readFileSync(file, 'utf8')), { ignoreUnknownFields: true });
}

test('daily-snapshot.json replays without nondeterminism', async () => {
  const history = readHistory(FILE);
  // two environments: an activity each, with their summaries
  const scheduled = history.events.filter((e) => e.activityTaskScheduledEventAttributes);
  expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name)).toEqual(['writeDailySnapshot', 'writeDailySnapshot']);
  await expect(Worker.runReplayHistory({ workflowBundle: await testWorkflowBundle() }, history, 'daily-snapshot')).resolves.toBeUndefined();
});

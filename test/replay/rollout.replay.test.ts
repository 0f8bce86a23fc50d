import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { Worker } from '@temporalio/worker';
import { testWorkflowBundle } from '../helpers/env';

/**
 * Rollout histories recorded by test/integration/rollout.test.ts (happy path with updates, a failed
 * gate with automatic rollback, a rollback after promotion) replay against today's workflow code
 * without a nondeterminism error. Re-record with RECORD_HISTORIES=1 after an intended change.
 */
const DIR = join(__dirname, '..', 'fixtures', 'histories');
const fixtures = readdirSync(DIR).filter((f) => /^rollout.*\.json$/.test(f)).sort();

// The CLI's JSON history -> History, with the protobufjs copy @temporalio/proto uses (see forecast-run.replay.test.ts).
function loadHistory(file: string): proto.temporal.api.history.v1.History {
  const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] }));
  const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
  return protojson.fromJson(root.lookupType('temporal.api.history.v1.History'), JSON.parse(readFileSync(join(DIR, file), 'utf8')), {
    ignoreUnknownFields: true,
  });
}

/** The rollout's workflow id is rollout-<release>; the release is in the start event's input. */
function workflowIdOf(history: proto.temporal.api.history.v1.History): string {
  const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
  return `rollout-${JSON.parse(Buffer.from(payload.data!).toString('utf8')).release}`;
}

describe('rollout histories replay', () => {
  it('has recorded histories to replay', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(3);
  });

  it.each(fixtures)('%s replays deterministically', async (file) => {
    const history = loadHistory(file);
    expect(history.events!.length).toBeGreaterThan(10);
    await expect(Worker.runReplayHistory({ workflowBundle: await testWorkflowBundle() }, history, workflowIdOf(history))).resolves.toBeUndefined();
  });
});

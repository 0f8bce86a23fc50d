import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { Worker } from '@temporalio/worker';
import { testWorkflowBundle } from '../helpers/env';

/**
 * prefetch / postDeployPrefetch histories recorded by test/integration/prefetch.test.ts (manual,
 * skipped, post-deploy with its durable timer and child) replay against today's workflow code.
 * After an intended, patched change re-record them with RECORD_HISTORIES=1.
 */
const DIR = join(__dirname, '..', 'fixtures', 'histories');
const fixtures = readdirSync(DIR).filter((f) => /^prefetch.*\.json$/.test(f)).sort();

/** The Temporal CLI's JSON history as a History message, parsed with @temporalio/proto's own protobufjs. */
function readHistory(file: string): proto.temporal.api.history.v1.History {
  const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] }));
  const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
  const type = root.lookupType('temporal.api.history.v1.History');
  return protojson.fromJson(type, JSON.parse(readFileSync(join(DIR, file), 'utf8')), { ignoreUnknownFields: true });
}

test('the prefetch histories are recorded', () => {
  expect(fixtures).toEqual(expect.arrayContaining(['prefetch-manual.json', 'prefetch-post-deploy.json', 'prefetch-skipped.json']));
});

test.each(fixtures)('%s replays without nondeterminism', async (file) => {
  const history = readHistory(file);
  expect(history.events.length).toBeGreaterThan(5);
  await expect(Worker.runReplayHistory({ workflowBundle: await testWorkflowBundle() }, history, file)).resolves.toBeUndefined();
});

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { Worker } from '@temporalio/worker';
import { testWorkflowBundle } from '../helpers/env';

/**
 * Histories recorded from real integration runs (forecastRun with its timers, config change,
 * pause/resume, continue-as-new; its cachePreload and backtest children) replay against today's
 * workflow code without a nondeterminism error. Re-record with RECORD_HISTORIES=1 after an
 * intended, patched change.
 */
const DIR = join(__dirname, '..', 'fixtures', 'histories');
const fixtures = readdirSync(DIR).filter((f) => /^forecast-run.*\.json$/.test(f) && !f.endsWith('.index.json')).sort();
/** fixture file -> the workflow id it was recorded under (child workflow ids derive from it). */
const workflowIds: Record<string, string> = JSON.parse(readFileSync(join(DIR, 'forecast-run.index.json'), 'utf8'));

/**
 * The CLI's JSON history -> History message. Parsed with the protobufjs copy that @temporalio/proto
 * itself uses: in this install @temporalio/common resolves a second copy, so its historyFromJSON
 * fails with "type must be a Type".
 */
function loadHistory(file: string): proto.temporal.api.history.v1.History {
  const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] }));
  const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
  const historyType = root.lookupType('temporal.api.history.v1.History');
  return protojson.fromJson(historyType, JSON.parse(readFileSync(join(DIR, file), 'utf8')), { ignoreUnknownFields: true });
}

describe('forecastRun histories replay', () => {
  it('has recorded histories to replay', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(5);
  });

  it.each(fixtures)('%s replays deterministically', async (file) => {
    const history = loadHistory(file);
    expect(history.events.length).toBeGreaterThan(5);
    expect(workflowIds[file]).toBeDefined();
    await expect(Worker.runReplayHistory({ workflowBundle: await testWorkflowBundle() }, history, workflowIds[file])).resolves.toBeUndefined();
  });
});

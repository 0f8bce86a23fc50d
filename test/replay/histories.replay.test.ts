import { Worker } from '@temporalio/worker';
import { historyFiles, loadHistory } from '../helpers/histories';
import { testWorkflowBundle } from '../helpers/env';

/**
 * Every committed history (test/fixtures/histories, recorded from real integration runs) replays
 * against today's workflow code without a nondeterminism error. A change to a workflow's command
 * sequence is guarded with patched(); re-record with RECORD_HISTORIES=1 only for a new scenario.
 */
const files = historyFiles();

test('every workflow type has recorded histories', () => {
  const types = new Set(files.map((f) => loadHistory(f).history.events![0].workflowExecutionStartedEventAttributes!.workflowType!.name));
  expect([...types].sort()).toEqual(expect.arrayContaining(['backtest', 'cachePreload', 'dailySnapshot', 'forecastRun', 'postDeployPrefetch', 'prefetch', 'releaseRevert', 'rollout']));
});

test(`all ${files.length} histories replay`, async () => {
  const histories = files.map((file) => ({ file, ...loadHistory(file) }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: await testWorkflowBundle() }, histories)) {
    replayed++;
    if (r.error) failures.push(`${histories.find((h) => h.workflowId === r.workflowId)?.file}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(files.length);
});

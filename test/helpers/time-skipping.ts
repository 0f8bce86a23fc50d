import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';

/**
 * The time-skipping test server for tests of the plan's real windows (24 h soaks, 72 h approval
 * timeouts, 7-day validations) in seconds of wall time. Found at TEMPORAL_TEST_SERVER_PATH, else in
 * the tools cache where .ci/run installs it (scripts/install-time-skipping-server.sh, Java + Maven),
 * else installed there now if Java and Maven are present; failing all that, the SDK's own download.
 */
export function findTimeSkippingServer(): string | undefined {
  if (process.env.TEMPORAL_TEST_SERVER_PATH) return process.env.TEMPORAL_TEST_SERVER_PATH;
  const cached = join(homedir(), '.cache', 'neuro-forecast', 'test-server', 'temporal-test-server');
  if (existsSync(cached)) return cached;
  try {
    const script = join(__dirname, '..', '..', 'scripts', 'install-time-skipping-server.sh');
    return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
  } catch {
    return undefined;
  }
}

/** A time-skipping server with the workflows' search attributes registered. */
export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const path = findTimeSkippingServer();
  const env = await TestWorkflowEnvironment.createTimeSkipping(path ? { server: { executable: { type: 'existing-path', path } } } : {});
  // The test server has no ListSearchAttributes (so no ensureSearchAttributes), but it adds them. Operator API enum: KEYWORD = 2.
  await env.connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, 2])) });
  return env;
}

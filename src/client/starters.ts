import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { BadInputError } from '../activities/errors';
import { infraFromEnv, parseEnvironment } from '../config/schema';
import { parseIsoDate, todayUtc } from '../forecasting/dates';
import type { RolloutInput } from '../rollout/types';
import { backtest, type BacktestInput } from '../workflows/backtest';
import { forecastRun, type ForecastRunInput } from '../workflows/forecast-run';
import { backtestId, forecastRunId, postDeployWorkflowId, prefetchWorkflowId, releaseRevertId, rolloutWorkflowId } from '../workflows/ids';
import { postDeployPrefetch, prefetch, type PrefetchInput } from '../workflows/prefetch';
import { releaseRevert, type ReleaseRevertInput } from '../workflows/release-revert';
import { rollout } from '../workflows/rollout';
import { ENVIRONMENT, RELEASE_TAG, RUN_DATE, STAGE, STATUS, TRIGGER } from '../workflows/search-attributes';
import { forecastRunDetails, forecastRunSummary, rolloutDetails, rolloutSummary } from './start-details';

/**
 * Starting each workflow, shared by the CLI, the API, the demo and the benches: inputs a typo would
 * break are checked here (before anything starts), ids come from src/workflows/ids.ts, and the
 * workflow function is passed so its arguments are type-checked.
 */

const suffix = () => randomUUID().slice(0, 8);

/** Starts a forecastRun (CLI, API trigger-forecast, demo); the workflow validates the rest of the input. */
export async function startForecastRun(
  client: Client,
  input: ForecastRunInput,
  taskQueue: string = infraFromEnv().taskQueue,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof forecastRun>> {
  const environment = parseEnvironment(input.environment);
  const runDate = parseIsoDate(input.runDate ?? todayUtc(), 'run date');
  const trigger = input.trigger ?? 'manual';
  return client.workflow.start(forecastRun, {
    taskQueue,
    workflowId: forecastRunId(environment, runDate, suffix()),
    args: [{ ...input, environment, runDate, trigger }],
    typedSearchAttributes: [
      { key: ENVIRONMENT, value: environment },
      { key: RUN_DATE, value: runDate },
      { key: STATUS, value: 'running' },
      { key: TRIGGER, value: trigger },
    ],
    memo: { trigger, environment, runDate },
    staticSummary: forecastRunSummary(environment, runDate, trigger),
    staticDetails: forecastRunDetails(input),
  });
}

export async function startBacktest(client: Client, input: BacktestInput, taskQueue: string = infraFromEnv().taskQueue): Promise<WorkflowHandle<typeof backtest>> {
  const environment = parseEnvironment(input.environment);
  const runDate = parseIsoDate(input.runDate ?? todayUtc(), 'run date');
  return client.workflow.start(backtest, {
    taskQueue,
    workflowId: backtestId(environment, runDate, suffix()),
    args: [{ ...input, environment, runDate }],
    typedSearchAttributes: [
      { key: ENVIRONMENT, value: environment },
      { key: RUN_DATE, value: runDate },
      { key: STATUS, value: 'running' },
      { key: TRIGGER, value: 'cli' },
    ],
    staticSummary: `backtest ${environment} ${runDate}${input.model ? ` (${input.model})` : input.policy ? ` (policy ${input.policy})` : ''}`,
  });
}

export async function startPrefetch(
  client: Client,
  input: PrefetchInput,
  taskQueue: string,
  workflowId = prefetchWorkflowId(input.environment, input.trigger, new Date()),
): Promise<WorkflowHandle<typeof prefetch>> {
  parseEnvironment(input.environment);
  return client.workflow.start(prefetch, {
    taskQueue,
    workflowId,
    args: [input],
    typedSearchAttributes: [
      { key: ENVIRONMENT, value: input.environment },
      { key: TRIGGER, value: input.trigger },
    ],
    staticSummary: `prefetch ${input.environment} (${input.trigger})${input.topN ? `, top ${input.topN}` : ''}`,
  });
}

const DEPLOY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface PostDeployStart {
  workflowId: string;
  /** false: this deploy id already had its post-deploy prefetch; nothing new was started. */
  started: boolean;
}

/**
 * Starts the post-deploy prefetch of one deploy. The workflow id comes from the deploy id and a
 * closed or running workflow with that id is never replaced, so a repeated hook call is a no-op.
 */
export async function startPostDeployPrefetch(client: Client, input: { environment: string; deployId: string }, taskQueue: string): Promise<PostDeployStart> {
  const environment = parseEnvironment(input.environment);
  if (!DEPLOY_ID.test(input.deployId)) {
    throw new BadInputError(`deploy id "${input.deployId.slice(0, 40)}" refused: letters, digits, . _ - only, up to 100 characters`);
  }
  const workflowId = postDeployWorkflowId(environment, input.deployId);
  try {
    await client.workflow.start(postDeployPrefetch, {
      taskQueue,
      workflowId,
      args: [{ environment, deployId: input.deployId }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: ENVIRONMENT, value: environment },
        { key: TRIGGER, value: 'post-deploy' },
      ],
      staticSummary: `post-deploy prefetch ${environment}, deploy ${input.deployId}`,
      staticDetails: 'Waits PREFETCH_POST_DEPLOY_DELAY_MS (a durable timer) so services settle, then warms the cache with a prefetch child.',
    });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}

/** Starts a rollout; refuses a second active rollout of the same release. */
export async function startRollout(client: Client, input: RolloutInput, taskQueue: string): Promise<string> {
  const workflowId = rolloutWorkflowId(input.release);
  try {
    await client.workflow.start(rollout, {
      taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: new TypedSearchAttributes([
        { key: RELEASE_TAG, value: input.release },
        { key: STAGE, value: 'prepare' },
        { key: STATUS, value: 'running' },
      ]),
      memo: { plan: input.plan ?? null, description: input.description, author: input.author, changes: input.changes },
      staticSummary: rolloutSummary(input),
      staticDetails: rolloutDetails(input),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new Error(`a rollout of ${input.release} is already running (workflow ${workflowId}); see \`neuro rollout status ${input.release}\``, { cause: err });
    }
    throw err;
  }
  return workflowId;
}

/** Starts the revert of a completed release (the workflow decides whether it may); one at a time per release. */
export async function startReleaseRevert(client: Client, input: ReleaseRevertInput, taskQueue: string): Promise<WorkflowHandle<typeof releaseRevert>> {
  const missing = (['release', 'by', 'reason'] as const).filter((k) => !input[k]?.trim());
  if (missing.length) throw new BadInputError(`release revert needs ${missing.join(', ')}`);
  const workflowId = releaseRevertId(input.release);
  try {
    return await client.workflow.start(releaseRevert, {
      taskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: new TypedSearchAttributes([
        { key: RELEASE_TAG, value: input.release },
        { key: STAGE, value: 'revert' },
        { key: STATUS, value: 'running' },
      ]),
      memo: { release: input.release, by: input.by, reason: input.reason },
      staticSummary: `revert of release ${input.release} by ${input.by}: ${input.reason}`,
      staticDetails: 'Restores the release\'s snapshot in production, then staging, when no later change touched its keys; refuses naming the change otherwise.',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Error(`a revert of ${input.release} is already running (workflow ${workflowId})`, { cause: err });
    throw err;
  }
}

import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { BadInputError } from '../../activities/errors';
import { infraFromEnv, parseEnvironment } from '../../config/schema';
import { postDeployWorkflowId, type postDeployPrefetch } from '../../workflows/prefetch';
import { ENVIRONMENT, TRIGGER } from '../../workflows/search-attributes';
import { connectTemporal } from '../services';

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
    throw new BadInputError(`deploy id "${input.deployId}" refused: letters, digits, . _ - only, up to 100 characters`);
  }
  const workflowId = postDeployWorkflowId(environment, input.deployId);
  try {
    await client.workflow.start<typeof postDeployPrefetch>('postDeployPrefetch', {
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

/** `neuro deploy complete`: the deploy hook. */
export async function deployComplete(opts: { env: string; deployId?: string }): Promise<void> {
  const deployId = opts.deployId ?? `deploy-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const temporal = await connectTemporal();
  try {
    const r = await startPostDeployPrefetch(temporal.client, { environment: opts.env, deployId }, infraFromEnv().taskQueue);
    console.log(
      r.started
        ? `deploy ${deployId}: post-deploy prefetch scheduled (workflow ${r.workflowId}; waits PREFETCH_POST_DEPLOY_DELAY_MS, then warms the top queries)`
        : `deploy ${deployId}: already handled by workflow ${r.workflowId}; nothing new started`,
    );
  } finally {
    await temporal.close();
  }
}

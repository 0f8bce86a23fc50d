import { infraFromEnv } from '../../config/schema';
import { connectTemporal } from '../services';
import { startPostDeployPrefetch } from '../starters';

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

import { WorkflowFailedError } from '@temporalio/client';
import { connectTemporal, resolveInfra } from '../services';
import { startReleaseRevert } from '../starters';

/** `neuro release revert RELEASE --by WHO --reason WHY`: starts the releaseRevert workflow and waits for its answer. */

type Out = (line: string) => void;
const stdout: Out = (line) => process.stdout.write(`${line}\n`);

export async function releaseRevertCommand(release: string, o: { by: string; reason: string }, out: Out = stdout): Promise<void> {
  const { client, close } = await connectTemporal();
  try {
    const h = await startReleaseRevert(client, { release, by: o.by, reason: o.reason }, resolveInfra().taskQueue);
    out(`Reverting ${release} (workflow ${h.workflowId})`);
    try {
      const s = await h.result();
      out(`reverted ${release}: restored ${s.restored.join(', ')} (${s.keys.join(', ')}); see neuro rollout status ${release}`);
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new Error(err.cause?.message ?? err.message, { cause: err });
      throw err;
    }
  } finally {
    await close();
  }
}

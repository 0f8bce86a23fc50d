import { NotBuiltError } from '../not-built';

export async function prefetchRun(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('prefetch run');
}


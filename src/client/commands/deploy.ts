import { NotBuiltError } from '../not-built';

export async function deployComplete(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('deploy complete');
}


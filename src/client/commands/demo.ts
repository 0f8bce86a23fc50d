import { NotBuiltError } from '../not-built';

export async function demoCommand(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('demo');
}


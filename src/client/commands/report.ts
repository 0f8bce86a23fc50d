import { NotBuiltError } from '../not-built';

export async function reportCommand(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('report');
}


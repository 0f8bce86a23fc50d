import { NotBuiltError } from '../not-built';

export async function trafficCommand(..._args: unknown[]): Promise<void> {
  throw new NotBuiltError('traffic');
}


import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

let cgroupLimit: number | null | undefined;

/**
 * The denominator of every memory percentage (a run's peak memory, a prefetch's memory impact), as
 * the plan reports them: MEMORY_LIMIT_MB if > 0, else the cgroup v2 limit, else total memory.
 */
export function memoryLimitBytes(limitMb: number): { bytes: number; source: 'setting' | 'cgroup' | 'total' } {
  if (limitMb > 0) return { bytes: limitMb * 1024 * 1024, source: 'setting' };
  if (cgroupLimit === undefined) {
    try {
      const raw = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
      cgroupLimit = raw === 'max' ? null : Number(raw);
    } catch {
      cgroupLimit = null;
    }
  }
  return cgroupLimit ? { bytes: cgroupLimit, source: 'cgroup' } : { bytes: totalmem(), source: 'total' };
}

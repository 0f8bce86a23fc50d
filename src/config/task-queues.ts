/**
 * Task queue names. Workflow tasks and light activities run on the base queue (NEURO_TASK_QUEUE);
 * CPU-bound batch activities (forecast, backtest) on its forecast queue, served by
 * `neuro worker --role forecast|all`. Pure (no I/O), so workflows derive the forecast queue from
 * their own task queue and every process agrees on the name without extra configuration.
 */
export function forecastTaskQueue(baseTaskQueue: string): string {
  return `${baseTaskQueue}-forecast`;
}

/** Counts by name (models used, SKUs per class), merged the same way everywhere. */
export type Counts = Record<string, number>;

/** Adds `n` to `counts[key]`. */
export function countInto(counts: Counts, key: string, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n;
}

/** Adds every count of `from` into `into` (in place) and returns `into`. */
export function mergeCounts(into: Counts, from: Counts): Counts {
  for (const [key, n] of Object.entries(from)) countInto(into, key, n);
  return into;
}

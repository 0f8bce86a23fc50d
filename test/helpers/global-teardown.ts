export default async function globalTeardown(): Promise<void> {
  const stops = (globalThis as { __neuroStops?: (() => Promise<void>)[] }).__neuroStops ?? [];
  for (const stop of stops.reverse()) await stop().catch((err) => console.error(err));
}

/** Small pieces every benchmark module shares. */

/** A positive integer from the environment (BENCH_SECONDS and friends), else the default. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/**
 * For a server process under test: stop it on SIGTERM or when the parent goes away (its
 * stdin ends), exiting 0 once `stop` resolves, or 1 if it fails or takes longer than `graceMs`.
 */
export function stopWhenParentAsks(stop: () => Promise<void>, graceMs = 5000): void {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), graceMs);
    force.unref();
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}

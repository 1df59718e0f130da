/** One measured figure, the unit every benchmark module returns to bench/run.ts. */
export interface BenchRow {
  /** The benchmark module, e.g. 'root-throughput'. */
  bench: string;
  /** What was measured, e.g. 'appstreamd signed GET / req/s'. */
  metric: string;
  value: number;
  unit: string;
}

/** A benchmark module: `export async function run(): Promise<BenchRow[]>`. */
export interface BenchModule {
  run(): Promise<BenchRow[]>;
}

/**
 * `npm run bench`: runs each benchmark module in turn, prints one table of all figures and
 * writes them to bench/results/latest.json. A benchmark is a module under bench/ exporting
 * `async function run(): Promise<BenchRow[]>`; add it to BENCHMARKS. BENCH_ONLY=a,b runs
 * only the named ones.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchModule, BenchRow } from './bench-row.js';

const BENCHMARKS: ReadonlyArray<{ name: string; load: () => Promise<BenchModule> }> = [
  { name: 'root-throughput', load: () => import('./root-throughput.js') },
  { name: 'app-list-page', load: () => import('./app-list-page.js') },
  { name: 'entitle-latency', load: () => import('./entitle-latency.js') },
  { name: 'stream-latency', load: () => import('./stream-latency.js') },
  { name: 'scale-out', load: () => import('./scale-out.js') },
];

function formatTable(rows: BenchRow[]): string {
  const header = ['bench', 'metric', 'value', 'unit'];
  const cells = rows.map((r) => [r.bench, r.metric, String(r.value), r.unit]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const only = (process.env['BENCH_ONLY'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const selected = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b.name));
  if (selected.length === 0) throw new Error(`BENCH_ONLY matches none of ${BENCHMARKS.map((b) => b.name).join(', ')}`);

  const rows: BenchRow[] = [];
  const failures: Array<{ bench: string; error: string }> = [];
  for (const bench of selected) {
    process.stderr.write(`bench: ${bench.name}...\n`);
    const started = Date.now();
    try {
      rows.push(...(await (await bench.load()).run()));
      process.stderr.write(`bench: ${bench.name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      // One broken benchmark must not hide the figures of the others.
      const error = err instanceof Error ? err.stack ?? err.message : String(err);
      failures.push({ bench: bench.name, error });
      process.stderr.write(`bench: ${bench.name} FAILED: ${error}\n`);
    }
  }

  process.stdout.write(formatTable(rows) + '\n');
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(resultsDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverage: os.loadavg(),
    rows,
    failures,
  };
  writeFileSync(path.join(resultsDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
  if (failures.length > 0) {
    process.stderr.write(`bench: ${failures.length} benchmark(s) failed: ${failures.map((f) => f.bench).join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});

/**
 * Benchmark: the time of one signed page of GET /applications with 100 applications stored
 * versus 100,000 (one account). Keyset paging should make a page cost the same however many
 * applications exist; the target is 100,000 within 2× of 100, for page 1 and for a page in
 * the middle reached through real `next` links.
 *
 * Run alone: node --import tsx bench/app-list-page.ts (or through `npm run bench`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadSettings } from '../src/config/settings.js';
import { createApp, type App } from '../src/http/app.js';
import { createLogger } from '../src/http/logger.js';
import type { Insertable } from 'kysely';
import type { ApplicationsTable } from '../src/store/schema.js';
import { href, SignedClient } from '../test/helpers/signed-client.js';
import type { BenchRow } from './bench-row.js';

export type { BenchRow };

export interface AppListPageOptions {
  sizes?: readonly [small: number, large: number];
  /** Timed requests per page kind and size. */
  iterations?: number;
  warmup?: number;
}

const BENCH = 'app-list-page';
const INSERT_BATCH = 500; // 21 columns × 500 rows stays under SQLite's bound-variable limit

async function insertApplications(app: App, accountId: string, count: number): Promise<void> {
  const base = Date.parse('2014-01-01T00:00:00.000Z');
  for (let start = 0; start < count; start += INSERT_BATCH) {
    // Nullable columns left out are stored as NULL.
    const rows: Insertable<ApplicationsTable>[] = [];
    for (let i = start; i < Math.min(count, start + INSERT_BATCH); i++) {
      const at = new Date(base + i * 1000).toISOString();
      rows.push({
        id: randomUUID(),
        account_id: accountId,
        name: `bench app ${i}`,
        installer_url: 'https://example.com/app.tgz',
        installer_parameters: '',
        launch_path: 'bin/run.sh',
        launch_parameters: '',
        log_paths: '[]',
        stream_protocol: 'terminal',
        state: 'Active',
        application_error_count: 0,
        session_error_count: 0,
        session_capacity: 10,
        build_generation: 1,
        created_at: at,
        last_updated_at: at,
      });
    }
    await app.store.db.transaction().execute((trx) => trx.insertInto('applications').values(rows).execute());
  }
}

async function getOk(client: SignedClient, target: string): Promise<any> {
  const res = await client.get(target);
  if (res.status !== 200) throw new Error(`GET ${target} → ${res.status} ${res.text.slice(0, 200)}`);
  return res.json;
}

async function timeOne(client: SignedClient, target: string): Promise<number> {
  const t0 = performance.now();
  await getOk(client, target);
  return performance.now() - t0;
}

/** A running server holding `count` applications, with the hrefs of its first and middle pages. */
interface Fixture {
  count: number;
  client: SignedClient;
  firstHref: string;
  middleHref: string;
  middlePage: number;
  close(): Promise<void>;
}

async function startFixture(count: number): Promise<Fixture> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-bench-'));
  const settings = loadSettings({ APPSTREAMD_PORT: '0', APPSTREAMD_DATA_DIR: dataDir, APPSTREAMD_LOG_LEVEL: 'silent' });
  const app = await createApp({ settings, logger: createLogger('silent') });
  const close = async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await app.listen();
    const credentials = await app.accounts.createAccountWithKey('bench');
    await insertApplications(app, credentials.accountId, count);
    const client = new SignedClient(url, credentials);
    const root = await getOk(client, '/');
    const firstHref = href(root, 'appstream:applications');
    // Walk real `next` links to the page in the middle of the collection.
    const middlePage = Math.max(2, Math.ceil(Math.ceil(count / 20) / 2));
    let page = await getOk(client, firstHref);
    for (let n = 1; n < middlePage; n++) page = await getOk(client, href(page, 'next'));
    return { count, client, firstHref, middleHref: href(page, 'self'), middlePage, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Times `iterations` requests against each fixture, alternating between them request by
 * request, so warm-up, GC and machine load fall on both sides alike.
 */
async function timeInterleaved(fixtures: readonly Fixture[], pick: (f: Fixture) => string, warmup: number, iterations: number): Promise<number[][]> {
  for (let i = 0; i < warmup; i++) for (const f of fixtures) await getOk(f.client, pick(f));
  const times = fixtures.map(() => [] as number[]);
  for (let i = 0; i < iterations; i++) {
    for (const [k, f] of fixtures.entries()) times[k]!.push(await timeOne(f.client, pick(f)));
  }
  return times;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export async function run(options: AppListPageOptions = {}): Promise<BenchRow[]> {
  const [small, large] = options.sizes ?? [100, 100_000];
  const iterations = options.iterations ?? 300;
  const warmup = options.warmup ?? 50;
  const fixtures: Fixture[] = [];
  try {
    fixtures.push(await startFixture(small));
    fixtures.push(await startFixture(large));
    const rows: BenchRow[] = [];
    for (const [kind, pick] of [
      ['page 1', (f: Fixture) => f.firstHref],
      ['middle page', (f: Fixture) => f.middleHref],
    ] as const) {
      const times = await timeInterleaved(fixtures, pick, warmup, iterations);
      for (const [k, f] of fixtures.entries()) {
        const label = kind === 'page 1' ? kind : `${kind} (${f.middlePage})`;
        rows.push({ bench: BENCH, metric: `${label}, ${f.count} apps, median`, value: round(percentile(times[k]!, 50)), unit: 'ms' });
        rows.push({ bench: BENCH, metric: `${label}, ${f.count} apps, p99`, value: round(percentile(times[k]!, 99)), unit: 'ms' });
      }
      const ratio = percentile(times[1]!, 50) / percentile(times[0]!, 50);
      rows.push({ bench: BENCH, metric: `${kind}, median ${large} / ${small} (target ≤ 2)`, value: Math.round(ratio * 100) / 100, unit: 'x' });
    }
    return rows;
  } finally {
    for (const f of fixtures) await f.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const rows = await run();
  for (const r of rows) console.log(`${r.bench}  ${r.metric.padEnd(48)} ${String(r.value).padStart(10)} ${r.unit}`);
  const ratios = rows.filter((r) => r.unit === 'x');
  if (ratios.some((r) => r.value > 2)) {
    console.log('target missed: a page with the large collection takes more than 2× the small one');
    process.exitCode = 1;
  }
}

/**
 * Shared pieces of the durability tests (and of scripts/fuzz.ts, scripts/soak.ts): a real
 * `appstreamd serve` child process, a package server whose slow route can hold builds
 * mid-flight, a /proc scan for session programs, and a strict Prometheus text parser.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type http from 'node:http';
import { makeTarGz, serveBytes, startServer as startPackageServer, type TestServer as PackageServer } from '../helpers/packages.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(REPO_ROOT, 'src', 'cli', 'main.ts');
const LISTENING_RE = /^appstreamd listening on (http:\/\/\S+)$/m;

/** Root credentials given through the environment, so they survive restarts. */
export const ROOT = { accessKeyId: 'AKIADURABILITY000001', secretAccessKey: 'durabilityRootSecret/0123456789abcdefXYZ' };

/** Settings every durability server gets: loopback packages allowed, budgets raised. */
export function serverEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    APPSTREAMD_PORT: '0',
    APPSTREAMD_DATA_DIR: dataDir,
    APPSTREAMD_ROOT_ACCESS_KEY_ID: ROOT.accessKeyId,
    APPSTREAMD_ROOT_SECRET_ACCESS_KEY: ROOT.secretAccessKey,
    APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
    APPSTREAMD_CREATE_APPLICATION_RATE: '100000',
    APPSTREAMD_ENTITLE_SESSION_RATE: '100000',
    APPSTREAMD_SESSION_CAPACITY: '10000',
    APPSTREAMD_LOG_LEVEL: 'warn',
    ...extra,
  };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `node --import tsx src/cli/main.ts serve`. */
export class ServerProcess {
  output = '';
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('APPSTREAMD_')) base[k] = v;
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.child.stderr!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitUntilListening(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = LISTENING_RE.exec(this.output);
      if (m) return m[1]!;
      if (!this.running) throw new Error(`serve exited before listening:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`serve did not listen within ${timeoutMs} ms:\n${this.output}`);
      await sleep(25);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGKILL (if still running) and wait for the exit. */
  async kill(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.exited;
  }
}

export async function startServerProcess(env: Record<string, string>): Promise<{ proc: ServerProcess; url: string }> {
  const proc = new ServerProcess(env);
  try {
    return { proc, url: await proc.waitUntilListening() };
  } catch (err) {
    await proc.kill();
    throw err;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it is true or the time is up (then throws naming `what`). */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * A terminal program that ignores SIGHUP and SIGTERM and never reads its terminal, so it
 * outlives a killed server unless the restart sweep SIGKILLs it.
 */
const STUBBORN_SCRIPT = "#!/bin/sh\ntrap '' HUP TERM INT\necho ready\nwhile :; do sleep 1; done\n";

export interface Packages {
  server: PackageServer;
  /** Installs at once. */
  fastUrl: string;
  /** Held until `release()`; afterwards served at once. */
  slowUrl: string;
  /** How many requests reached the slow route. */
  slowArrivals(): number;
  /** Serve the slow route at once from now on (and answer the held requests). */
  release(): void;
  /** Hold the slow route again. */
  hold(): void;
  close(): Promise<void>;
}

/** A package server; its program is `script` (default: one that ignores SIGHUP/SIGTERM). */
export async function startPackages(work: string, script = STUBBORN_SCRIPT): Promise<Packages> {
  const tgz = await makeTarGz(work, [{ path: 'bin/run.sh', content: script, mode: 0o755 }]);
  const serve = serveBytes(tgz);
  let holding = true;
  let arrivals = 0;
  let held: [http.IncomingMessage, http.ServerResponse][] = [];
  const server = await startPackageServer({
    '/app.tgz': serve,
    '/slow.tgz': (req, res) => {
      arrivals += 1;
      res.on('error', () => undefined);
      if (holding) held.push([req, res]);
      else serve(req, res);
    },
  });
  const release = () => {
    holding = false;
    const waiting = held;
    held = [];
    for (const [req, res] of waiting) if (!res.destroyed) serve(req, res);
  };
  return {
    server,
    fastUrl: `${server.origin}/app.tgz`,
    slowUrl: `${server.origin}/slow.tgz`,
    slowArrivals: () => arrivals,
    release,
    hold: () => {
      holding = true;
    },
    async close() {
      release();
      await server.close();
    },
  };
}

/** Pids whose environment names one of these sessions (APPSTREAM_SESSION_ID=...). */
export function sessionProgramPids(sessionIds: Iterable<string>): Map<string, number[]> {
  const wanted = new Set(sessionIds);
  const found = new Map<string, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  for (const pid of entries) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const m = /(?:^|\0)APPSTREAM_SESSION_ID=([^\0]+)/.exec(environ);
    if (m && wanted.has(m[1]!)) found.set(m[1]!, [...(found.get(m[1]!) ?? []), Number(pid)]);
  }
  return found;
}

/** Last-resort cleanup: SIGKILL every program of these sessions still alive. */
export function killSessionPrograms(sessionIds: Iterable<string>): void {
  for (const pids of sessionProgramPids(sessionIds).values()) {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format (version 0.0.4), parsed strictly.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help?: string;
  type?: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(raw: string, line: number): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  // prom-client writes NaN as "Nan"; Prometheus reads floats with Go's ParseFloat, which takes any case.
  if (/^nan$/i.test(raw)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) throw new Error(`line ${line}: bad value ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Reads `{a="x",b="y"}` starting at `text[0] === '{'`; returns the labels and the rest. */
function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: duplicate label ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value must be quoted`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = text[j];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next ?? ''}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected ',' or '}' after a label`);
  }
}

/** The base family of a sample name (histogram/summary suffixes belong to their family). */
function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

/**
 * Strict parser: every line is `# HELP name text`, `# TYPE name type` (once per family, before
 * its samples), another comment, blank, or `name{labels} value [timestamp]` whose family was
 * declared. Throws on anything else.
 */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      const family = families.get(name) ?? { name, samples: [] };
      families.set(name, family);
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        family.help = rest;
      } else {
        if (family.type !== undefined) throw new Error(`line ${line}: second TYPE for ${name}`);
        if (family.samples.length > 0) throw new Error(`line ${line}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest)) throw new Error(`line ${line}: unknown type ${rest}`);
        family.type = rest as MetricFamily['type'];
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nameMatch) throw new Error(`line ${line}: not a sample: ${JSON.stringify(raw)}`);
    const name = nameMatch[0];
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: expected ' value [timestamp]'`);
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad timestamp`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`line ${line}: sample ${name} of an undeclared family`);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`line ${line}: counter ${name} is ${value}`);
    family.samples.push({ name, labels, value });
  });
  for (const f of families.values()) {
    if (f.type === 'histogram') {
      const inf = f.samples.filter((s) => s.name === `${f.name}_bucket` && s.labels['le'] === '+Inf');
      const counts = f.samples.filter((s) => s.name === `${f.name}_count`);
      if (inf.length !== counts.length) throw new Error(`histogram ${f.name}: +Inf buckets do not match _count series`);
    }
  }
  return families;
}

/** Sum of the samples named `name` whose labels include every pair in `match`. */
export function sampleSum(families: Map<string, MetricFamily>, name: string, match: Record<string, string>): number {
  const family = familyOf(name, families);
  if (!family) return 0;
  return family.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/**
 * Test-side readers for the official SigV4 vector files in ../shared/testdata/sigv4
 * (layout described in that folder's README.md). Not part of the server.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** CI clones the repo with shared/ beside it, so the folder is found relative to the repo root. */
export const VECTORS_DIR = path.resolve(repoRoot, '../shared/testdata/sigv4');
export const CLASSIC_DIR = path.join(VECTORS_DIR, 'aws-sig-v4-test-suite');
export const CRT_DIR = path.join(VECTORS_DIR, 'aws-signing-test-suite', 'v4');

/**
 * How a header continued on the next line (obs-fold) is read. The two suites disagree
 * (README): the classic suite treats each continuation as another value of the same
 * header (joined with `,`); aws-c-auth replaces the fold with a space (RFC 7230 §3.2.4).
 */
export type ObsFold = 'repeat-header' | 'space';

export interface RawRequestFile {
  readonly method: string;
  /** The request target as written in the file (may hold raw spaces or UTF-8). */
  readonly target: string;
  /** Pairs like Node's `rawHeaders`; values kept untrimmed to exercise the canonicaliser. */
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

/** Parses a raw HTTP request file: request line, header lines, empty line, body bytes. */
export function parseRawRequest(bytes: Buffer, obsFold: ObsFold): RawRequestFile {
  const blank = bytes.indexOf('\n\n');
  const head = (blank === -1 ? bytes : bytes.subarray(0, blank)).toString('utf8');
  const body = blank === -1 ? Buffer.alloc(0) : Buffer.from(bytes.subarray(blank + 2));
  const lines = head.split('\n').map((line) => line.replace(/\r$/, ''));
  const requestLine = lines[0];
  // The target may contain raw spaces (get-space), so split on the first and last space only.
  const first = requestLine.indexOf(' ');
  const last = requestLine.lastIndexOf(' ');
  if (first === -1 || last <= first) throw new Error(`bad request line: ${requestLine}`);
  const method = requestLine.slice(0, first);
  const target = requestLine.slice(first + 1, last);

  const rawHeaders: string[] = [];
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line)) {
      if (rawHeaders.length === 0) throw new Error('continuation line before any header');
      if (obsFold === 'repeat-header') {
        rawHeaders.push(rawHeaders[rawHeaders.length - 2], line.trim());
      } else {
        rawHeaders[rawHeaders.length - 1] += ` ${line.trim()}`;
      }
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line: ${line}`);
    rawHeaders.push(line.slice(0, colon), line.slice(colon + 1));
  }
  return { method, target, rawHeaders, body };
}

/** The value of the first header called `name` (case-insensitive). */
export function rawHeader(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}

/** Raw headers without the Authorization header (to rebuild the canonical request of a signed request). */
export function withoutAuthorization(rawHeaders: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() !== 'authorization') out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

export interface ClassicCase {
  /** e.g. `normalize-path/get-slash` */
  readonly name: string;
  readonly dir: string;
  readonly file: (ext: 'req' | 'creq' | 'sts' | 'authz' | 'sreq') => Buffer;
}

/** Every folder holding `<folder name>.req`, at any depth. */
export function listClassicCases(root = CLASSIC_DIR): ClassicCase[] {
  const cases: ClassicCase[] = [];
  const walk = (dir: string): void => {
    const base = path.basename(dir);
    if (existsSync(path.join(dir, `${base}.req`))) {
      cases.push({
        name: path.relative(root, dir).split(path.sep).join('/'),
        dir,
        file: (ext) => readFileSync(path.join(dir, `${base}.${ext}`)),
      });
      return;
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
    }
  };
  walk(root);
  return cases.sort((a, b) => a.name.localeCompare(b.name));
}

export interface CrtContext {
  readonly credentials: { access_key_id: string; secret_access_key: string; token?: string };
  readonly region: string;
  readonly service: string;
  readonly timestamp: string;
  readonly normalize: boolean;
  readonly sign_body: boolean;
  readonly omit_session_token?: boolean;
}

export interface CrtCase {
  readonly name: string;
  readonly dir: string;
  readonly context: CrtContext;
  readonly file: (name: string) => Buffer;
}

export function listCrtCases(root = CRT_DIR): CrtCase[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = path.join(root, entry.name);
      return {
        name: entry.name,
        dir,
        context: JSON.parse(readFileSync(path.join(dir, 'context.json'), 'utf8')) as CrtContext,
        file: (name: string) => readFileSync(path.join(dir, name)),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { probeCapabilities } from '../../../src/sandbox/capabilities.js';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from '../../../src/sandbox/limits.js';
import { createUidPool, DEFAULT_UID_LOCK_DIR, DEFAULT_UID_RANGE } from '../../../src/sandbox/uid-pool.js';
import type { ClientPort, LaunchSpec, Sandbox } from '../../../src/stream/types.js';

export const capabilities = probeCapabilities();
export const isRoot = process.getuid?.() === 0;

export function makeSandbox(limits: Partial<SandboxLimits> = {}): Sandbox {
  return { capabilities, uidPool: createUidPool(DEFAULT_UID_RANGE.first, DEFAULT_UID_RANGE.last, process.getuid?.() === 0 ? DEFAULT_UID_LOCK_DIR : null), limits: { ...DEFAULT_SANDBOX_LIMITS, ...limits } };
}

/** A temp folder the sandbox uids can traverse (mkdtemp makes 0700 folders). */
export async function makeWorkDir(): Promise<{ root: string; imageDir: string; sessionsRoot: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'appstream-stream-test-'));
  await chmod(root, 0o711);
  const imageDir = path.join(root, 'image');
  await mkdir(imageDir, { mode: 0o755 });
  await chmod(imageDir, 0o755);
  const sessionsRoot = path.join(root, 'sessions');
  return { root, imageDir, sessionsRoot, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Writes an executable script (0755, readable and runnable by the sandbox uid) into the image. */
export async function writeScript(imageDir: string, relative: string, body: string): Promise<void> {
  const file = path.join(imageDir, relative);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, body, { mode: 0o755 });
  await chmod(file, 0o755);
}

export function spec(overrides: Partial<LaunchSpec> & Pick<LaunchSpec, 'imageDir' | 'sessionsRoot' | 'launchPath'>): LaunchSpec {
  return {
    sessionId: `s-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
    launchParameters: '',
    opaqueData: null,
    protocol: 'terminal',
    ...overrides,
  };
}

/** A ClientPort that records what it gets and can wait for text to show up. */
export class FakeClient implements ClientPort {
  readonly chunks: Buffer[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  send(data: Buffer): void {
    this.chunks.push(Buffer.from(data));
    this.notify();
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.notify();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.bytes.toString('utf8');
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once `predicate` holds; rejects after a generous timeout with what was seen. */
  async waitFor(predicate: (text: string) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.text)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.text.slice(-500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** True when the pid is gone or only a zombie waiting to be reaped. */
export function isGone(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    const text = readFileSync(stat, 'utf8');
    const state = text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

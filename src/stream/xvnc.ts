import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chown, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { findExecutable } from '../sandbox/capabilities.js';
import { OutputRing } from './output-buffer.js';
import { isAlive, killQuietly } from './process-tree.js';
import { LaunchError } from './types.js';
import { newCookie, xauthorityEntry } from './xauth.js';

export const DEFAULT_GEOMETRY = { width: 1024, height: 768, depth: 24 } as const;
const START_TIMEOUT_MS = 20_000;

export interface XvncServer {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly displayNumber: number;
  /** For the sandboxed program: DISPLAY value. */
  readonly display: string;
  /** Readable by the session uid only. */
  readonly clientAuthority: string;
  /** Private RFB socket: root-owned, 0600; the gateway bridges to it. */
  readonly rfbSocket: string;
  readonly exited: Promise<void>;
  stderrTail(): string;
  /** SIGTERM (so Xvnc removes its sockets), then SIGKILL; resolves when it is gone. */
  stop(): Promise<void>;
}

export function findXvnc(): string | null {
  return findExecutable('Xvnc');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads the display number Xvnc writes to -displayfd once it accepts connections. */
function readDisplayNumber(stream: Readable, child: ChildProcess, tail: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => done(new LaunchError(`Xvnc did not start in time: ${tail()}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const match = /^(\d+)\n/.exec(text);
      if (match) done(null, Number(match[1]));
    };
    const onExit = () => done(new LaunchError(`Xvnc exited during start: ${tail()}`));
    const onError = (error: Error) => done(new LaunchError(`cannot start Xvnc: ${error.message}`));
    function done(error: Error | null, value?: number) {
      clearTimeout(timer);
      stream.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(value as number);
    }
    stream.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/**
 * Starts one Xvnc for a session: X clients only with the session's cookie, no TCP at all,
 * RFB only on a private Unix socket in the session folder (the gateway does the auth).
 */
export async function startXvnc(options: { sessionDir: string; sessionId: string; uid: number | null }): Promise<XvncServer> {
  const xvnc = findXvnc();
  if (!xvnc) throw new LaunchError('Xvnc is not installed (Debian package tigervnc-standalone-server)');
  const cookie = newCookie();
  const serverAuthority = path.join(options.sessionDir, 'xvnc.auth');
  const clientAuthority = path.join(options.sessionDir, 'Xauthority');
  const rfbSocket = path.join(options.sessionDir, 'rfb.sock');
  await writeFile(serverAuthority, xauthorityEntry(cookie), { mode: 0o600 });
  await writeFile(clientAuthority, xauthorityEntry(cookie), { mode: 0o400 });
  if (options.uid !== null) await chown(clientAuthority, options.uid, options.uid);

  const { width, height, depth } = DEFAULT_GEOMETRY;
  const child = spawn(
    xvnc,
    [
      '-displayfd', '3',
      '-auth', serverAuthority,
      '-nolisten', 'tcp',
      '-rfbunixpath', rfbSocket,
      '-rfbunixmode', '0600',
      '-rfbport', '-1',
      '-SecurityTypes', 'None',
      '-geometry', `${width}x${height}`,
      '-depth', String(depth),
      '-desktop', `appstream ${options.sessionId}`,
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { PATH: '/usr/local/bin:/usr/bin:/bin' }, cwd: options.sessionDir },
  );
  const stderr = new OutputRing(4096);
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  const tail = () => {
    const text = stderr.drain().toString('utf8');
    stderr.push(Buffer.from(text));
    return text.trim().split('\n').slice(-5).join(' | ');
  };
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });

  const stop = async (): Promise<void> => {
    const pid = child.pid;
    if (pid === undefined) return;
    if (child.exitCode === null && child.signalCode === null) {
      killQuietly(pid, 'SIGTERM');
      const timeout = sleep(3000).then(() => 'timeout' as const);
      if ((await Promise.race([exited.then(() => 'gone' as const), timeout])) === 'timeout') {
        killQuietly(pid, 'SIGKILL');
        await exited;
      }
    }
    while (isAlive(pid)) await sleep(20);
  };

  try {
    const fd3 = child.stdio[3] as Readable | null;
    if (!fd3) throw new LaunchError('cannot read the display number from Xvnc');
    const displayNumber = await readDisplayNumber(fd3, child, tail);
    fd3.destroy();
    for (let i = 0; i < 100 && !existsSync(rfbSocket); i++) await sleep(50);
    if (!existsSync(rfbSocket)) throw new LaunchError(`Xvnc did not create its RFB socket: ${tail()}`);
    return {
      process: child,
      pid: child.pid as number,
      displayNumber,
      display: `:${displayNumber}`,
      clientAuthority,
      rfbSocket,
      exited,
      stderrTail: tail,
      stop: async () => {
        await stop();
        removeStaleDisplayFiles(displayNumber, child.pid as number);
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** After a hard kill Xvnc leaves its socket and lock behind; remove them only if they were ours. */
function removeStaleDisplayFiles(displayNumber: number, pid: number): void {
  const lock = `/tmp/.X${displayNumber}-lock`;
  try {
    if (existsSync(lock) && Number(readFileSync(lock, 'utf8').trim()) === pid) {
      rmSync(`/tmp/.X11-unix/X${displayNumber}`, { force: true });
      rmSync(lock, { force: true });
    }
  } catch {
    // best effort
  }
}

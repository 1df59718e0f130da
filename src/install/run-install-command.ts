import { spawn } from 'node:child_process';
import { BuildFailure, describeError } from './build-failure.js';
import { findExecutable } from './find-executable.js';
import { chownTree, filesLinkedOutside, listTree } from './tree-walk.js';

/**
 * Installing, second half: run `installerParameters` as a shell command inside the package
 * folder. Cleared environment, its own process group (killed on timeout or cancel), prlimit
 * limits, and — when the server is root — an unprivileged uid via setpriv, with the folder lent to
 * that uid only for the duration of the command.
 */

export interface InstallCommandOptions {
  command: string;
  packageDir: string;
  timeoutMs: number;
  /** RLIMIT_FSIZE: the largest file the command may write. */
  maxFileBytes: number;
  signal?: AbortSignal;
  /** The uid and gid the command runs as when the server is root (default 65534, "nobody"). */
  unprivilegedId?: number;
}

const STEP = 'Installing';
const TAIL_BYTES = 2048;
const ADDRESS_SPACE_BYTES = 2 * 1024 * 1024 * 1024;
const MAX_PROCESSES = 256;
const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CLOSE_GRACE_MS = 2000;

/** Keeps only the last `limit` bytes written to it. */
class OutputTail {
  private buffer = Buffer.alloc(0);
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.buffer, chunk]);
    this.buffer = joined.length > this.limit ? joined.subarray(joined.length - this.limit) : joined;
  }
  text(): string {
    return this.buffer.toString('utf8').replace(/^\uFFFD+/, '').trim();
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  output: string;
}

async function buildArgv(options: InstallCommandOptions, asRoot: boolean): Promise<string[]> {
  const shellCommand = ['/bin/sh', '-c', options.command];
  const argv: string[] = [];
  const prlimit = await findExecutable('prlimit');
  if (prlimit) {
    const cpuSeconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
    argv.push(prlimit, `--as=${ADDRESS_SPACE_BYTES}`, `--fsize=${Math.max(1, options.maxFileBytes)}`, `--cpu=${cpuSeconds}`, '--core=0');
    // RLIMIT_NPROC counts every process of the real uid: only meaningful for the dedicated uid.
    if (asRoot) argv.push(`--nproc=${MAX_PROCESSES}`);
    argv.push('--');
  }
  if (asRoot) {
    const setpriv = await findExecutable('setpriv');
    if (!setpriv) {
      throw new BuildFailure(
        STEP,
        'The install command cannot run: setpriv (util-linux) is missing, and commands are never run as root.',
        'Install util-linux on the server, or leave installerParameters empty.',
      );
    }
    const id = options.unprivilegedId ?? 65534;
    argv.push(setpriv, `--reuid=${id}`, `--regid=${id}`, '--clear-groups', '--no-new-privs', '--');
  }
  return [...argv, ...shellCommand];
}

function runProcess(argv: string[], options: InstallCommandOptions): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    const tail = new OutputTail(TAIL_BYTES);
    let timedOut = false;
    let cancelled = false;
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.packageDir,
      env: { PATH: SAFE_PATH, HOME: options.packageDir, LANG: 'C.UTF-8' },
      detached: true, // its own process group, so the whole tree can be killed at once
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));

    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);
    const onCancel = (): void => {
      cancelled = true;
      killGroup(child.pid);
    };
    options.signal?.addEventListener('abort', onCancel, { once: true });
    if (options.signal?.aborted) onCancel();

    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    let closeTimer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (settled || !exit) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCancel);
      resolve({ ...exit, timedOut, cancelled, output: tail.text() });
    };
    child.on('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCancel);
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever the command left running in its group goes too; then give the pipes a moment.
      killGroup(child.pid);
      closeTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, CLOSE_GRACE_MS);
    });
    child.on('close', () => {
      if (closeTimer) clearTimeout(closeTimer);
      finish();
    });
  });
}

function withOutput(text: string, output: string): string {
  return output ? `${text} Last output: ${output}` : text;
}

/** Lends the folder to `uid`, or takes it back; refuses files hard-linked from outside. */
async function setOwner(packageDir: string, uid: number): Promise<void> {
  const entries = await listTree(packageDir);
  const outside = filesLinkedOutside(entries);
  if (outside.length > 0) {
    throw new BuildFailure(
      STEP,
      `The install command left "${outside[0]!.relative}" hard-linked to a file outside the package.`,
      'Make the install command copy files into the package folder instead of hard-linking them.',
    );
  }
  await chownTree(entries, uid, uid);
}

export async function runInstallCommand(options: InstallCommandOptions): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const argv = await buildArgv(options, asRoot);
  const id = options.unprivilegedId ?? 65534;
  if (asRoot) await setOwner(options.packageDir, id);
  let outcome: CommandOutcome;
  try {
    outcome = await runProcess(argv, options);
  } catch (error) {
    throw new BuildFailure(STEP, `The install command could not be started: ${describeError(error)}.`, 'Check the server has /bin/sh and util-linux installed.');
  } finally {
    if (asRoot) await setOwner(options.packageDir, 0);
  }
  if (outcome.cancelled) {
    throw new BuildFailure(STEP, 'The build was cancelled.', 'Start the build again if it is still wanted.');
  }
  if (outcome.timedOut) {
    throw new BuildFailure(
      STEP,
      withOutput(`The install command did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped.`, outcome.output),
      'Make installerParameters finish sooner (no interactive prompts, no long downloads), or ask the operator to raise the install timeout.',
    );
  }
  if (outcome.code !== 0) {
    const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
    throw new BuildFailure(
      STEP,
      withOutput(`The install command ${how}.`, outcome.output),
      'Fix installerParameters (it runs with /bin/sh -c inside the unpacked package folder, as an unprivileged user, with a minimal environment) and create the application again.',
    );
  }
}

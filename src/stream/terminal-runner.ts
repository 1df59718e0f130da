import { spawn as spawnPty, type IPty } from 'node-pty';
import { classifyExit } from './exit-reason.js';
import { OutputRing } from './output-buffer.js';
import { prepareLaunch, type PreparedLaunch, settleProgram } from './prepare.js';
import { killAndWait, processTree } from './process-tree.js';
import {
  CLIENT_CLOSE,
  LaunchError,
  type ClientPort,
  type LaunchSpec,
  type ProgramExit,
  type RunningProgram,
  type Sandbox,
} from './types.js';

const DEFAULT_COLS = 80;
const DEFAULT_ROWS = 24;
export const TERMINAL_REPLAY_BYTES = 256 * 1024;

function clampSize(value: number | undefined, fallback: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(1000, Math.max(1, Math.floor(value)));
}

/** A program on a pseudo-terminal; output goes to the client or, while detached, to a ring. */
class TerminalProgram implements RunningProgram {
  readonly protocol = 'terminal' as const;
  readonly pid: number;
  readonly exited: Promise<ProgramExit>;
  private client: ClientPort | null = null;
  private readonly ring = new OutputRing(TERMINAL_REPLAY_BYTES);
  private killedByUs = false;
  private ended = false;
  private cleanedUp = false;
  private resolveExit!: (exit: ProgramExit) => void;

  constructor(
    private readonly pty: IPty,
    private readonly prepared: PreparedLaunch,
  ) {
    this.pid = pty.pid;
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    // With encoding: null node-pty hands out Buffers although its typings say string.
    pty.onData((data: string | Buffer) => this.output(typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
    pty.onExit(({ exitCode, signal }) => {
      void this.finish(exitCode, signal ?? null);
    });
  }

  private output(data: Buffer): void {
    if (this.client) this.client.send(data);
    else this.ring.push(data);
  }

  attach(client: ClientPort): void {
    if (this.client && this.client !== client) this.client.close(CLIENT_CLOSE.replaced, 'replaced by a new connection');
    this.client = client;
    if (this.ring.length > 0) client.send(this.ring.drain());
    if (this.ended) client.close(CLIENT_CLOSE.programEnded, 'program ended');
  }

  detach(): void {
    this.client = null;
  }

  input(data: Buffer): void {
    if (this.ended) return;
    this.pty.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.ended) return;
    try {
      this.pty.resize(clampSize(cols, DEFAULT_COLS), clampSize(rows, DEFAULT_ROWS));
    } catch {
      // the pty closed between the check and the call
    }
  }

  processTreePids(): number[] {
    if (this.cleanedUp) return [];
    // node-pty's child called setsid(), so its pid is also the process group id.
    return processTree(this.pid, this.pid);
  }

  async kill(): Promise<void> {
    if (!this.ended) this.killedByUs = true;
    await killAndWait(this.processTreePids(), this.pid, () => this.processTreePids());
    await this.exited;
  }

  private async finish(exitCode: number, signal: number | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const exit = classifyExit(exitCode, signal && signal > 0 ? signal : null, this.killedByUs);
    // Leftovers: in a pid namespace the kernel already killed them; without one, the group remains.
    await killAndWait(processTree(this.pid, this.pid), this.pid, () => processTree(this.pid, this.pid));
    this.cleanedUp = true;
    const client = this.client;
    this.client = null;
    await settleProgram(this.prepared, exit, this.resolveExit, client);
  }
}

export async function launchTerminal(spec: LaunchSpec, sandbox: Sandbox): Promise<RunningProgram> {
  const prepared = await prepareLaunch(spec, sandbox);
  try {
    const command = prepared.command({});
    const pty = spawnPty(command.file, command.args, {
      name: 'xterm-256color',
      cols: clampSize(spec.cols, DEFAULT_COLS),
      rows: clampSize(spec.rows, DEFAULT_ROWS),
      cwd: prepared.cwd,
      env: {}, // the sandbox argv sets the program's whole environment with env -i
      encoding: null,
    });
    return new TerminalProgram(pty, prepared);
  } catch (error) {
    await prepared.release();
    if (error instanceof LaunchError) throw error;
    throw new LaunchError(`cannot start the terminal: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

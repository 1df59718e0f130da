import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import { classifyExit } from './exit-reason.js';
import { OutputRing } from './output-buffer.js';
import { prepareLaunch, type PreparedLaunch, settleProgram } from './prepare.js';
import { isAlive, killAndWait, processTree } from './process-tree.js';
import {
  CLIENT_CLOSE,
  LaunchError,
  type ClientPort,
  type LaunchSpec,
  type ProgramExit,
  type RunningProgram,
  type Sandbox,
} from './types.js';
import { startXvnc, type XvncServer } from './xvnc.js';

/** RFB bytes the client sends before the socket is connected are held, up to this much. */
const MAX_PENDING_INPUT = 1024 * 1024;

/** A program drawing on its own Xvnc; attach() bridges the client to Xvnc's RFB socket. */
class X11Program implements RunningProgram {
  readonly protocol = 'x11' as const;
  readonly pid: number;
  readonly exited: Promise<ProgramExit>;
  private client: ClientPort | null = null;
  private socket: net.Socket | null = null;
  private pendingInput: Buffer[] = [];
  private pendingBytes = 0;
  private readonly outputTail = new OutputRing(4096);
  private killedByUs = false;
  private bridgeFailure: string | null = null;
  private ended = false;
  private cleanedUp = false;
  private resolveExit!: (exit: ProgramExit) => void;

  constructor(
    private readonly child: ChildProcess,
    private readonly xvnc: XvncServer,
    private readonly prepared: PreparedLaunch,
  ) {
    this.pid = child.pid as number;
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    const keepTail = (chunk: Buffer) => this.outputTail.push(chunk);
    child.stdout?.on('data', keepTail);
    child.stderr?.on('data', keepTail);
    child.once('exit', (code, signal) => {
      void this.finish(code, signal);
    });
    void xvnc.exited.then(() => {
      if (this.ended || this.killedByUs) return;
      // Without its display the program cannot be seen: end it as a bridge failure.
      this.bridgeFailure = `Xvnc exited unexpectedly: ${xvnc.stderrTail()}`;
      void killAndWait(this.programPids(), this.pid, () => this.programPids());
    });
  }

  attach(client: ClientPort): void {
    if (this.client && this.client !== client) this.client.close(CLIENT_CLOSE.replaced, 'replaced by a new connection');
    this.dropSocket();
    this.client = client;
    if (this.ended) {
      this.client = null;
      client.close(CLIENT_CLOSE.programEnded, 'program ended');
      return;
    }
    const socket = net.createConnection(this.xvnc.rfbSocket);
    this.socket = socket;
    socket.on('connect', () => {
      for (const chunk of this.pendingInput) socket.write(chunk);
      this.pendingInput = [];
      this.pendingBytes = 0;
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.client?.send(chunk);
    });
    const lost = (why: string) => {
      if (this.socket !== socket) return; // detached or replaced on purpose
      this.socket = null;
      const current = this.client;
      this.client = null;
      current?.close(CLIENT_CLOSE.bridgeFailed, why);
    };
    socket.on('error', (error) => lost(`RFB bridge failed: ${error.message}`));
    socket.on('close', () => lost('RFB connection closed'));
  }

  detach(): void {
    this.client = null;
    this.dropSocket();
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    this.pendingInput = [];
    this.pendingBytes = 0;
    socket?.destroy();
  }

  input(data: Buffer): void {
    const socket = this.socket;
    if (!socket || this.ended) return;
    if (socket.connecting) {
      if (this.pendingBytes + data.length > MAX_PENDING_INPUT) return;
      this.pendingInput.push(Buffer.from(data));
      this.pendingBytes += data.length;
      return;
    }
    socket.write(data);
  }

  resize(): void {
    // The desktop size is Xvnc's; RFB clients ask for changes in-band.
  }

  private programPids(): number[] {
    return processTree(this.pid, this.pid);
  }

  processTreePids(): number[] {
    if (this.cleanedUp) return [];
    const pids = this.programPids();
    if (isAlive(this.xvnc.pid)) pids.push(this.xvnc.pid);
    return pids.sort((a, b) => a - b);
  }

  async kill(): Promise<void> {
    if (!this.ended) this.killedByUs = true;
    await killAndWait(this.programPids(), this.pid, () => this.programPids());
    await this.exited;
  }

  private async finish(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const signalNumber = signal ? osConstants.signals[signal] : null;
    let exit = classifyExit(code, signalNumber ?? null, this.killedByUs);
    if (this.bridgeFailure !== null && !this.killedByUs) {
      exit = { exitCode: code, signal: signal, reason: 'bridge-failed', detail: this.bridgeFailure };
    } else if (exit.reason !== 'killed' && exit.exitCode !== 0) {
      const tail = this.outputTail.drain().toString('utf8').trim();
      if (tail) exit = { ...exit, detail: [exit.detail, tail.split('\n').slice(-5).join(' | ')].filter(Boolean).join(': ') };
    }
    await killAndWait(this.programPids(), this.pid, () => this.programPids());
    this.dropSocket();
    await this.xvnc.stop();
    this.cleanedUp = true;
    const client = this.client;
    this.client = null;
    await settleProgram(this.prepared, exit, this.resolveExit, client);
  }
}

export async function launchX11(spec: LaunchSpec, sandbox: Sandbox): Promise<RunningProgram> {
  const prepared = await prepareLaunch(spec, sandbox);
  let xvnc: XvncServer | null = null;
  try {
    xvnc = await startXvnc({ sessionDir: prepared.folders.sessionDir, sessionId: spec.sessionId, uid: prepared.uid });
    const command = prepared.command({ display: xvnc.display, xauthority: xvnc.clientAuthority });
    const child = spawn(command.file, command.args, {
      cwd: prepared.cwd,
      env: {}, // the sandbox argv sets the program's whole environment with env -i
      detached: true, // its own process group, so the whole group can be killed
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = await new Promise<Error | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', (error) => resolve(error));
    });
    if (started) throw new LaunchError(`cannot start the program: ${started.message}`, { cause: started });
    return new X11Program(child, xvnc, prepared);
  } catch (error) {
    await xvnc?.stop();
    await prepared.release();
    if (error instanceof LaunchError) throw error;
    throw new LaunchError(`cannot start the x11 session: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

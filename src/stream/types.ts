import type { SandboxCapabilities } from '../sandbox/capabilities.js';
import type { SandboxLimits } from '../sandbox/limits.js';
import type { UidPool } from '../sandbox/uid-pool.js';

export type StreamProtocol = 'terminal' | 'x11';

export interface LaunchSpec {
  sessionId: string;
  /** The application's frozen image. */
  imageDir: string;
  /** Relative to imageDir ('/' prefix = imageDir root, never the host's). */
  launchPath: string;
  launchParameters: string;
  opaqueData: string | null;
  protocol: StreamProtocol;
  /** <data>/sessions: homes and per-session sockets live under here. */
  sessionsRoot: string;
  cols?: number;
  rows?: number;
}

/** The attached viewer, as the gateway presents it. */
export interface ClientPort {
  /** Program output (terminal) or RFB bytes (x11). */
  send(data: Buffer): void;
  close(code: number, reason: string): void;
}

export type ExitReason = 'exit' | 'killed' | 'limit' | 'launch-failed' | 'bridge-failed';

export interface ProgramExit {
  exitCode: number | null;
  signal: string | null;
  reason: ExitReason;
  detail?: string;
}

export interface RunningProgram {
  /** Host pid of the top process we spawned. */
  readonly pid: number;
  readonly protocol: StreamProtocol;
  /** At most one client: attaching a second closes the first. Replays buffered output (terminal). */
  attach(client: ClientPort): void;
  /** The client went away; the program keeps running, output is buffered (bounded ring). */
  detach(): void;
  /** Keystrokes (terminal) / RFB bytes from the client (x11). */
  input(data: Buffer): void;
  /** Terminal only; a no-op for x11. */
  resize(cols: number, rows: number): void;
  /** Kills the whole process tree now; resolves when it is gone. */
  kill(): Promise<void>;
  /** Settles once, when the program ended for any reason (never rejects). */
  readonly exited: Promise<ProgramExit>;
  /** Pids currently in the program's tree (read from /proc). */
  processTreePids(): number[];
}

export interface Sandbox {
  capabilities: SandboxCapabilities;
  uidPool: UidPool;
  limits: SandboxLimits;
}

/** launchProgram could not start the program; the message says why. */
export class LaunchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LaunchError';
  }
}

/** Close codes the runners use on the ClientPort (WebSocket private range). */
export const CLIENT_CLOSE = {
  programEnded: 4000,
  replaced: 4001,
  bridgeFailed: 1011,
} as const;

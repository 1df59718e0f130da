/**
 * The session supervisor: the single owner of every live session's program and of every
 * session timer — entitlement expiry (periodic sweep), connect timeout, disconnect grace,
 * idle timeout (client input only), maximum duration. State changes go through the
 * sessions store; programs are started and stopped through the stream runners.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ApiError } from '../errors/api-error.js';
import type { ApplicationsRepo } from '../store/applications-repo.js';
import type { EndRequest, SessionRow, SessionsRepo } from '../store/sessions-repo.js';
import { CLIENT_CLOSE, launchProgram, LaunchError, type ClientPort, type ProgramExit, type RunningProgram, type Sandbox, type StreamProtocol } from '../stream/index.js';

export interface SupervisorSettings {
  imagesRoot: string;
  sessionsRoot: string;
  connectTimeoutS: number;
  disconnectTimeoutS: number;
  idleTimeoutS: number;
  maxSessionS: number;
  sweepIntervalMs?: number;
}

export type EndReason =
  | 'PROGRAM_EXITED'
  | 'PROGRAM_FAILED'
  | 'LIMIT_EXCEEDED'
  | 'LAUNCH_FAILED'
  | 'BRIDGE_FAILED'
  | 'CONNECT_TIMEOUT'
  | 'CLIENT_DISCONNECTED'
  | 'IDLE_TIMEOUT'
  | 'MAX_DURATION'
  | 'TERMINATED_BY_API'
  | 'SERVER_RESTART'
  | 'SERVER_SHUTDOWN'
  | 'INSTANCE_LOST';

interface LiveSession {
  sessionId: string;
  program: RunningProgram;
  client: ClientPort | null;
  timers: Map<'connect' | 'disconnect' | 'idle' | 'max', NodeJS.Timeout>;
  ending: boolean;
}

export class SessionSupervisor {
  private readonly live = new Map<string, LiveSession>();
  private sweep: NodeJS.Timeout | undefined;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly sessions: SessionsRepo,
    private readonly applications: ApplicationsRepo,
    private readonly sandbox: Sandbox,
    private readonly settings: SupervisorSettings,
    private readonly log: Logger,
  ) {}

  /**
   * Starts the supervisor's own timers: the entitlement expiry sweep, and a watch that kills
   * programs whose session was ended by another instance (terminate answered elsewhere).
   */
  start(): void {
    this.sweep = setInterval(() => {
      this.sessions.expireDue().catch((err: unknown) => this.log.warn({ err }, 'entitlement expiry sweep failed'));
    }, this.settings.sweepIntervalMs ?? 5_000);
    this.sweep.unref();
    this.watch = setInterval(() => {
      if (this.live.size === 0) return;
      this.sessions
        .endedAmong([...this.live.keys()])
        .then((ended) => ended.forEach((id) => this.terminated(id)))
        .catch((err: unknown) => this.log.warn({ err }, 'session watch failed'));
    }, 300);
    this.watch.unref();
  }

  /**
   * Sessions whose program ran on an instance that is gone (a previous process of this
   * server, or a lost instance): end them and kill any of their processes on this host.
   */
  async endSessionsOf(instanceId: string, reason: 'SERVER_RESTART' | 'INSTANCE_LOST'): Promise<number> {
    const leftovers = await this.sessions.listLiveOnInstance(instanceId);
    if (leftovers.length === 0) return 0;
    killOrphanPrograms(leftovers.map((s) => s.id), this.settings.sessionsRoot);
    for (const s of leftovers) {
      await this.sessions.end(s.id, { to: reason === 'INSTANCE_LOST' ? 'Terminated' : 'Completed', reason });
    }
    this.log.info({ count: leftovers.length, instanceId, reason }, 'ended sessions of a gone instance');
    return leftovers.length;
  }

  get liveCount(): number {
    return this.live.size;
  }

  program(sessionId: string): RunningProgram | undefined {
    return this.live.get(sessionId)?.program;
  }

  /** Called right after a redemption: starts the program; the session is Reserved. */
  async launch(session: SessionRow): Promise<void> {
    const app = await this.applications.getInternal(session.application_id);
    if (!app) throw new ApiError('ConflictException', 'The application no longer exists.');
    let program: RunningProgram;
    try {
      program = await launchProgram(
        {
          sessionId: session.id,
          imageDir: path.join(this.settings.imagesRoot, app.id),
          launchPath: app.launch_path,
          launchParameters: app.launch_parameters,
          opaqueData: session.opaque_data,
          protocol: app.stream_protocol as StreamProtocol,
          sessionsRoot: this.settings.sessionsRoot,
        },
        this.sandbox,
      );
    } catch (err) {
      const detail = err instanceof LaunchError ? err.message : 'unexpected launch error';
      if (!(err instanceof LaunchError)) this.log.error({ err, sessionId: session.id }, 'launch failed unexpectedly');
      await this.sessions.end(session.id, {
        to: 'Terminated',
        reason: 'LAUNCH_FAILED',
        error: { errorCode: 'ApplicationLaunchFailed', cause: `The application could not be started: ${detail}.`, solution: 'Check the launchPath and launchParameters of the application, then entitle a new session.' },
      });
      throw new ApiError('NoAvailableInstanceException', 'The application could not be started for this session.');
    }
    const entry: LiveSession = { sessionId: session.id, program, client: null, timers: new Map(), ending: false };
    this.live.set(session.id, entry);
    this.arm(entry, 'connect', this.settings.connectTimeoutS, () => this.endLive(entry, { to: 'Terminated', reason: 'CONNECT_TIMEOUT' }));
    this.arm(entry, 'max', this.settings.maxSessionS, () => this.endLive(entry, { to: 'Terminated', reason: 'MAX_DURATION' }));
    void program.exited.then((exit) => this.onProgramExit(entry, exit));
    this.log.info({ sessionId: session.id, pid: program.pid, protocol: program.protocol }, 'program launched');
  }

  /** A client passed the connect-token check: first attach makes the session Active. */
  async attach(sessionId: string, client: ClientPort): Promise<boolean> {
    const entry = this.live.get(sessionId);
    if (!entry || entry.ending) return false;
    await this.sessions.markActive(sessionId);
    this.disarm(entry, 'connect');
    this.disarm(entry, 'disconnect');
    entry.client = client;
    entry.program.attach(client);
    this.touch(entry);
    return true;
  }

  /** Client input; counts as activity for the idle timeout (program output does not). */
  input(sessionId: string, data: Buffer): void {
    const entry = this.live.get(sessionId);
    if (!entry || entry.ending) return;
    entry.program.input(data);
    this.touch(entry);
  }

  resize(sessionId: string, cols: number, rows: number): void {
    this.live.get(sessionId)?.program.resize(cols, rows);
  }

  /** The client went away (only if it is still the attached one): start the disconnect grace. */
  detach(sessionId: string, client: ClientPort): void {
    const entry = this.live.get(sessionId);
    if (!entry || entry.ending || entry.client !== client) return;
    entry.client = null;
    entry.program.detach();
    this.arm(entry, 'disconnect', this.settings.disconnectTimeoutS, () => this.endLive(entry, { to: 'Completed', reason: 'CLIENT_DISCONNECTED' }));
  }

  /** Whether a detached session may still be resumed. */
  isLive(sessionId: string): boolean {
    const entry = this.live.get(sessionId);
    return entry !== undefined && !entry.ending;
  }

  /** The API already moved the session to Terminated: kill its program now. */
  terminated(sessionId: string): void {
    const entry = this.live.get(sessionId);
    if (entry) void this.stop(entry, 'terminated');
  }

  /** Ends every live session (shutdown). */
  async stopAll(reason: 'SERVER_SHUTDOWN'): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    if (this.watch) clearInterval(this.watch);
    await Promise.allSettled([...this.live.values()].map((e) => this.endLive(e, { to: 'Completed', reason })));
  }

  private touch(entry: LiveSession): void {
    if (this.settings.idleTimeoutS > 0) {
      this.arm(entry, 'idle', this.settings.idleTimeoutS, () => this.endLive(entry, { to: 'Completed', reason: 'IDLE_TIMEOUT' }));
    }
  }

  private arm(entry: LiveSession, name: 'connect' | 'disconnect' | 'idle' | 'max', seconds: number, fire: () => Promise<void>): void {
    this.disarm(entry, name);
    const timer = setTimeout(() => {
      entry.timers.delete(name);
      fire().catch((err: unknown) => this.log.error({ err, sessionId: entry.sessionId }, `${name} timer failed`));
    }, seconds * 1000);
    timer.unref();
    entry.timers.set(name, timer);
  }

  private disarm(entry: LiveSession, name: 'connect' | 'disconnect' | 'idle' | 'max'): void {
    const t = entry.timers.get(name);
    if (t) clearTimeout(t);
    entry.timers.delete(name);
  }

  /** Ends the session in the store, then stops its program. */
  private async endLive(entry: LiveSession, request: EndRequest): Promise<void> {
    if (entry.ending) return;
    await this.sessions.end(entry.sessionId, request);
    this.log.info({ sessionId: entry.sessionId, reason: request.reason }, 'session ended');
    await this.stop(entry, request.reason);
  }

  private async stop(entry: LiveSession, reason: string): Promise<void> {
    if (entry.ending) return;
    entry.ending = true;
    for (const name of [...entry.timers.keys()]) this.disarm(entry, name);
    entry.client?.close(CLIENT_CLOSE.programEnded, reason.slice(0, 100));
    await entry.program.kill();
    this.live.delete(entry.sessionId);
  }

  private async onProgramExit(entry: LiveSession, exit: ProgramExit): Promise<void> {
    if (entry.ending) return; // we stopped it ourselves
    entry.ending = true;
    for (const name of [...entry.timers.keys()]) this.disarm(entry, name);
    this.live.delete(entry.sessionId);
    const failed = exit.reason !== 'exit' || (exit.exitCode !== null && exit.exitCode !== 0);
    const reason: EndReason =
      exit.reason === 'limit' ? 'LIMIT_EXCEEDED' : exit.reason === 'bridge-failed' ? 'BRIDGE_FAILED' : failed ? 'PROGRAM_FAILED' : 'PROGRAM_EXITED';
    const how = exit.signal ? `was stopped by signal ${exit.signal}` : `exited with code ${exit.exitCode ?? 'unknown'}`;
    await this.sessions.end(entry.sessionId, {
      to: 'Completed',
      reason,
      error: failed
        ? {
            errorCode: 'SessionFailed',
            cause: `The application ${how}${exit.reason === 'limit' ? ' (a resource limit was reached)' : ''}.`,
            solution: 'Check the application output and its resource use, then entitle a new session.',
          }
        : undefined,
    });
    this.log.info({ sessionId: entry.sessionId, reason, exitCode: exit.exitCode, signal: exit.signal }, 'program ended');
    entry.client?.close(CLIENT_CLOSE.programEnded, reason);
  }
}

/**
 * Programs of a previous process: found by their session id in the environment or the
 * session folder on their command line (Xvnc), then SIGKILLed.
 */
export function killOrphanPrograms(sessionIds: string[], sessionsRoot: string): number {
  if (sessionIds.length === 0) return 0;
  const ids = new Set(sessionIds);
  let killed = 0;
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const m = /(?:^|\0)APPSTREAM_SESSION_ID=([^\0]+)/.exec(environ);
      const inFolder = [...ids].some((id) => cmdline.includes(path.join(sessionsRoot, id)));
      if ((m && ids.has(m[1]!)) || inFolder) {
        process.kill(Number(pid), 'SIGKILL');
        killed++;
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return killed;
}

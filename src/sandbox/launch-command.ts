import type { IsolationLevel, SandboxTools } from './capabilities.js';
import type { SandboxLimits } from './limits.js';

export { splitLaunchParameters, LaunchParametersError } from './launch-parameters.js';

/** The only variables a sandboxed program sees. */
export interface SandboxEnvironment {
  sessionId: string;
  /** null: APPSTREAM_OPAQUE_DATA is not set at all. */
  opaqueData: string | null;
  home: string;
  /** x11 only. */
  display?: string;
  /** x11 only: the session's X authority file, readable by the session uid alone. */
  xauthority?: string;
}

export interface SandboxCommandInput {
  isolation: IsolationLevel;
  tools: SandboxTools;
  /** The session uid (and gid); required for full isolation, ignored when reduced. */
  uid: number | null;
  limits: SandboxLimits;
  environment: SandboxEnvironment;
  /** Absolute path of the program. */
  program: string;
  args: readonly string[];
}

export interface SandboxCommand {
  file: string;
  args: string[];
}

export const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * A tiny init: in a pid namespace the first process is pid 1, which the kernel shields from
 * every signal it has no handler for (Ctrl-C would not stop `cat`, a CPU-limit SIGXCPU would be
 * ignored). So sh is pid 1 and the program its ordinary foreground child; sh reports the
 * program's end as an exit code (128+signal when killed), and when sh exits the kernel kills
 * whatever else is left in the namespace. Also keeps a program path containing '=' from being
 * taken by env as an assignment. `unset PWD` stops dash from adding PWD to the environment.
 */
export const INIT_SCRIPT = 'unset PWD; "$@"; exit $?';
export const INIT_NAME = 'appstream-init';

export function sandboxEnvironmentEntries(environment: SandboxEnvironment): string[] {
  const entries = [`APPSTREAM_SESSION_ID=${environment.sessionId}`];
  if (environment.opaqueData !== null) entries.push(`APPSTREAM_OPAQUE_DATA=${environment.opaqueData}`);
  entries.push(`HOME=${environment.home}`, 'TERM=xterm-256color', `PATH=${SANDBOX_PATH}`, 'LANG=C.UTF-8');
  if (environment.display !== undefined) entries.push(`DISPLAY=${environment.display}`);
  if (environment.xauthority !== undefined) entries.push(`XAUTHORITY=${environment.xauthority}`);
  return entries;
}

function required(tool: string | null, name: string): string {
  if (tool === null) throw new Error(`${name} is required to launch a program but was not found`);
  return tool;
}

function limitArgs(limits: SandboxLimits): string[] {
  return [
    `--as=${limits.addressSpaceBytes}`,
    `--nproc=${limits.processes}`,
    `--cpu=${limits.cpuSeconds}`,
    `--nofile=${limits.openFiles}`,
    `--fsize=${limits.fileSizeBytes}`,
    '--core=0',
  ];
}

/**
 * Builds the argv that runs a program in the sandbox. Pure: no file system access.
 * Full: unshare (namespaces) -> prlimit (limits, still root) -> setpriv (drop to the session uid,
 * no new privileges, no capabilities) -> env -i (cleared environment) -> sh init -> program.
 * Reduced: prlimit (when present) -> env -i -> sh init -> program.
 */
export function buildSandboxCommand(input: SandboxCommandInput): SandboxCommand {
  const all = [input.program, ...input.args, ...Object.values(input.environment).filter((v): v is string => typeof v === 'string')];
  if (all.some((value) => value.includes('\0'))) throw new Error('a launch argument or variable contains a NUL byte');
  if (!input.program.startsWith('/')) throw new Error('the program path must be absolute');

  const env = required(input.tools.env, 'env');
  const sh = required(input.tools.sh, 'sh');
  const tail = [env, '-i', ...sandboxEnvironmentEntries(input.environment), sh, '-c', INIT_SCRIPT, INIT_NAME, input.program, ...input.args];

  if (input.isolation === 'full') {
    const uid = input.uid;
    if (uid === null || !Number.isInteger(uid) || uid <= 0) throw new Error('full isolation needs a non-root session uid');
    const argv = [
      required(input.tools.unshare, 'unshare'),
      '--pid', '--fork', '--kill-child', '--mount-proc', '--net', '--ipc', '--uts', '--',
      required(input.tools.prlimit, 'prlimit'), ...limitArgs(input.limits), '--',
      required(input.tools.setpriv, 'setpriv'),
      `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--',
      ...tail,
    ];
    return { file: argv[0] as string, args: argv.slice(1) };
  }

  const argv = input.tools.prlimit !== null ? [input.tools.prlimit, ...limitArgs(input.limits), '--', ...tail] : tail;
  return { file: argv[0] as string, args: argv.slice(1) };
}

import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { createSessionHome, removeSessionFolder, type SessionFolders } from '../sandbox/home.js';
import { buildSandboxCommand, type SandboxCommand } from '../sandbox/launch-command.js';
import { splitLaunchParameters } from '../sandbox/launch-parameters.js';
import { CLIENT_CLOSE, LaunchError, type ClientPort, type LaunchSpec, type ProgramExit, type Sandbox } from './types.js';

/** Everything both runners need before spawning: the program, a uid, a home, the argv. */
export interface PreparedLaunch {
  program: string;
  args: string[];
  uid: number | null;
  folders: SessionFolders;
  /** The program starts in the folder that holds it (like a Windows shortcut's "start in"). */
  cwd: string;
  command(extra: { display?: string; xauthority?: string }): SandboxCommand;
  /** Removes the session folder and gives the uid back; safe to call more than once. */
  release(): Promise<void>;
}

/** Resolves launchPath inside the image; a leading '/' means the image root, never the host's. */
export async function resolveLaunchPath(imageDir: string, launchPath: string): Promise<string> {
  let imageRoot: string;
  try {
    imageRoot = await realpath(imageDir);
  } catch {
    throw new LaunchError(`the application image ${imageDir} does not exist`);
  }
  const relative = launchPath.replace(/^\/+/, '');
  if (relative === '') throw new LaunchError('launchPath is empty');
  let target: string;
  try {
    target = await realpath(path.resolve(imageRoot, relative));
  } catch {
    throw new LaunchError(`launchPath ${launchPath} does not exist in the application image`);
  }
  const inside = path.relative(imageRoot, target);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new LaunchError(`launchPath ${launchPath} points outside the application image`);
  }
  const info = await stat(target);
  if (!info.isFile()) throw new LaunchError(`launchPath ${launchPath} is not a regular file`);
  if ((info.mode & 0o111) === 0) throw new LaunchError(`launchPath ${launchPath} is not executable`);
  return target;
}

export async function prepareLaunch(spec: LaunchSpec, sandbox: Sandbox): Promise<PreparedLaunch> {
  const program = await resolveLaunchPath(spec.imageDir, spec.launchPath);
  let args: string[];
  try {
    args = splitLaunchParameters(spec.launchParameters);
  } catch (error) {
    throw new LaunchError(error instanceof Error ? error.message : String(error));
  }
  const { capabilities } = sandbox;
  const full = capabilities.isolation === 'full';
  let uid: number | null = null;
  if (full) {
    try {
      uid = sandbox.uidPool.acquire();
    } catch (error) {
      throw new LaunchError(error instanceof Error ? error.message : String(error), { cause: error });
    }
  }
  let folders: SessionFolders;
  try {
    folders = await createSessionHome(spec.sessionsRoot, spec.sessionId, uid);
  } catch (error) {
    if (uid !== null) sandbox.uidPool.release(uid);
    throw new LaunchError(`cannot create the session home: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  let released = false;
  return {
    program,
    args,
    uid,
    folders,
    cwd: path.dirname(program),
    command(extra) {
      try {
        return buildSandboxCommand({
          isolation: capabilities.isolation,
          tools: capabilities.tools,
          uid,
          limits: sandbox.limits,
          environment: { sessionId: spec.sessionId, opaqueData: spec.opaqueData, home: folders.home, ...extra },
          program,
          args,
        });
      } catch (error) {
        throw new LaunchError(error instanceof Error ? error.message : String(error), { cause: error });
      }
    },
    async release() {
      if (released) return;
      released = true;
      try {
        await removeSessionFolder(spec.sessionsRoot, spec.sessionId);
      } finally {
        if (uid !== null) sandbox.uidPool.release(uid);
      }
    },
  };
}

/**
 * The last step of every runner once its program is gone: release the session's folders and
 * uid (a folder that cannot be removed must not keep the exit from being reported), report
 * the exit, and tell the attached client the program ended.
 */
export async function settleProgram(
  prepared: PreparedLaunch,
  exit: ProgramExit,
  resolveExit: (exit: ProgramExit) => void,
  client: ClientPort | null,
): Promise<void> {
  try {
    await prepared.release();
  } catch {
    // reported below all the same
  }
  resolveExit(exit);
  client?.close(CLIENT_CLOSE.programEnded, `program ended (${exit.reason})`);
}

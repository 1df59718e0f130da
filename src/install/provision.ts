import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { StreamProtocol } from './build-types.js';
import { BuildFailure } from './build-failure.js';
import { findExecutable, searchFolders } from './find-executable.js';

/**
 * Provisioning: the image can run. launchPath must resolve (links included) to an executable
 * regular file inside the image, and the stream protocol's host tools must be installed.
 */

const STEP = 'Provisioning';

export interface ProvisionOptions {
  imageDir: string;
  launchPath: string;
  streamProtocol: StreamProtocol;
  /** The PATH host tools must be on; defaults to the server's. */
  searchPath?: string;
}

/** launchPath as a path relative to the image root ('/bin/app' and 'bin/app' are the same). */
export function normalizeLaunchPath(launchPath: string): string {
  if (launchPath.includes('\0')) throw new BuildFailure(STEP, 'The launchPath contains a NUL character.', 'Give the path of the program inside the package.');
  const relative = path.posix.normalize(launchPath.replace(/^\/+/, ''));
  if (relative === '' || relative === '.' || relative === '..' || relative.startsWith('../')) {
    throw new BuildFailure(
      STEP,
      `The launchPath "${launchPath}" does not name a file inside the application image.`,
      'Give the path of the program relative to the package root, e.g. "bin/app".',
    );
  }
  return relative;
}

function fixLaunchPath(launchPath: string): string {
  return `Set launchPath to the program inside the package (relative to its root; "${launchPath}" was given), or fix the package, then create the application again.`;
}

/** Checks the image and returns the real path of the program to launch. */
export async function checkProvisioning(options: ProvisionOptions): Promise<string> {
  const relative = normalizeLaunchPath(options.launchPath);
  let imageRoot: string;
  try {
    imageRoot = await realpath(options.imageDir);
  } catch {
    throw new BuildFailure(STEP, 'The application image is missing on the server.', 'Create the application again to rebuild its image.');
  }
  let resolved: string;
  try {
    resolved = await realpath(path.join(imageRoot, relative));
  } catch {
    throw new BuildFailure(STEP, `The launchPath "${options.launchPath}" does not exist in the installed package.`, fixLaunchPath(options.launchPath));
  }
  if (!resolved.startsWith(imageRoot + path.sep)) {
    throw new BuildFailure(STEP, `The launchPath "${options.launchPath}" resolves outside the application image.`, fixLaunchPath(options.launchPath));
  }
  const info = await stat(resolved);
  if (!info.isFile()) {
    throw new BuildFailure(STEP, `The launchPath "${options.launchPath}" is not a regular file.`, fixLaunchPath(options.launchPath));
  }
  if ((info.mode & 0o111) === 0) {
    throw new BuildFailure(
      STEP,
      `The launchPath "${options.launchPath}" is not executable.`,
      'Mark the program executable in the package (chmod +x before packing) or set it from installerParameters.',
    );
  }
  if (options.streamProtocol === 'x11' && !(await findExecutable('Xvnc', searchFolders(options.searchPath, false)))) {
    throw new BuildFailure(
      STEP,
      'The x11 stream protocol needs Xvnc, which is not installed on the server.',
      'Ask the operator to install tigervnc-standalone-server (and xfonts-base), or use the terminal stream protocol.',
    );
  }
  return resolved;
}

import { chmod, mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BuildFailure, describeError } from './build-failure.js';
import { SafeTreeWriter, UnsafePackageError } from './safe-tree-writer.js';
import { unpackTar } from './unpack-tar.js';
import { unpackZip } from './unpack-zip.js';

/** Installing, first half: turn the downloaded package into the package folder. */

export type PackageKind = 'tar.gz' | 'tar' | 'zip' | 'file';

export interface UnpackOptions {
  /** The downloaded installer; consumed (moved or deleted) by unpacking. */
  installerFile: string;
  /** The name a single-file package keeps (the URL's basename). */
  fileName: string;
  /** The folder to create and fill; must not exist yet. */
  packageDir: string;
  maxEntries: number;
  maxUnpackedBytes: number;
  signal?: AbortSignal;
}

export interface UnpackResult {
  kind: PackageKind;
  entries: number;
  bytes: number;
}

const STEP = 'Installing';

/** The package kind from its first bytes (names and Content-Type are not trusted). */
export function detectPackageKind(head: Buffer): PackageKind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) {
    return 'zip';
  }
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return 'file';
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function refusal(kind: PackageKind, error: unknown): BuildFailure {
  if (error instanceof UnsafePackageError) {
    return new BuildFailure(
      STEP,
      `The package was refused: ${error.message}.`,
      'Rebuild the package with plain relative paths, no links pointing outside it, and within the size and entry limits.',
    );
  }
  return new BuildFailure(
    STEP,
    `The ${kind} package could not be unpacked: ${describeError(error)}.`,
    'Check that the installer is a valid .tar.gz, .zip or single executable file and upload it again.',
  );
}

export async function unpackPackage(options: UnpackOptions): Promise<UnpackResult> {
  let kind: PackageKind = 'file';
  try {
    kind = detectPackageKind(await readHead(options.installerFile));
    await mkdir(options.packageDir, { mode: 0o755 });
    if (kind === 'file') {
      const target = path.join(options.packageDir, options.fileName);
      await rename(options.installerFile, target);
      await chmod(target, 0o755);
      return { kind, entries: 1, bytes: (await stat(target)).size };
    }
    const root = await realpath(options.packageDir);
    const writer = new SafeTreeWriter(root, {
      maxEntries: options.maxEntries,
      maxBytes: options.maxUnpackedBytes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (kind === 'zip') await unpackZip(options.installerFile, writer, options.maxEntries, options.signal);
    else await unpackTar(options.installerFile, writer, options.signal);
    return { kind, entries: writer.entryCount, bytes: writer.bytesWritten };
  } catch (error) {
    if (options.signal?.aborted) {
      throw new BuildFailure(STEP, 'The build was cancelled.', 'Start the build again if it is still wanted.');
    }
    throw refusal(kind, error);
  } finally {
    await rm(options.installerFile, { force: true }).catch(() => undefined);
  }
}

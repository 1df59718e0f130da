import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, cp, lchown, lstat, mkdir, readlink, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { BuildFailure, describeError } from './build-failure.js';
import { filesLinkedOutside, listTree, type TreeEntry } from './tree-walk.js';

/**
 * Creating: make the installed tree read-only for sessions (0755 folders and executables,
 * 0644 other files, owned by root when the server is root), record a digest of it, and move it
 * into place as <imagesRoot>/<applicationId> with renames only, so a session never sees half an image.
 */

const STEP = 'Creating';

export interface FreezeOptions {
  packageDir: string;
  imagesRoot: string;
  applicationId: string;
}

export interface FrozenImage {
  imageDir: string;
  digest: string;
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * sha256 over the tree: for every entry in byte order of its relative path, its kind, path,
 * permission bits and content (file: sha256 of the bytes; link: the target text). Owners and
 * times are left out so the same package gives the same digest on any host.
 */
export async function computeTreeDigest(root: string): Promise<string> {
  const digest = createHash('sha256');
  for (const entry of await listTree(root)) {
    const mode = (entry.stats.mode & 0o7777).toString(8);
    let kind: string;
    let payload: string;
    if (entry.stats.isDirectory()) {
      kind = 'd';
      payload = '';
    } else if (entry.stats.isFile()) {
      kind = 'f';
      payload = await hashFile(entry.absolute);
    } else if (entry.stats.isSymbolicLink()) {
      kind = 'l';
      payload = await readlink(entry.absolute);
    } else {
      kind = 'x';
      payload = '';
    }
    digest.update(`${kind}\0${entry.relative}\0${mode}\0${payload}\n`);
  }
  return digest.digest('hex');
}

function frozenMode(entry: TreeEntry): number {
  if (entry.stats.isDirectory()) return 0o755;
  return entry.stats.mode & 0o111 ? 0o755 : 0o644;
}

/** Modes and owners for sessions to read and run but never change; special files are refused. */
export async function normalizeTree(root: string): Promise<void> {
  const entries = await listTree(root);
  const special = entries.find((e) => !e.stats.isDirectory() && !e.stats.isFile() && !e.stats.isSymbolicLink());
  if (special) {
    throw new BuildFailure(
      STEP,
      `The installed package contains "${special.relative}", a device, FIFO or socket, which an image may not hold.`,
      'Make the install command leave only files, folders and links in the package folder.',
    );
  }
  const linkedOutside = filesLinkedOutside(entries);
  if (linkedOutside.length > 0) {
    throw new BuildFailure(
      STEP,
      `The installed package has "${linkedOutside[0]!.relative}" hard-linked to a file outside it.`,
      'Make the install command copy files into the package folder instead of hard-linking them.',
    );
  }
  const asRoot = process.getuid?.() === 0;
  for (const entry of entries) {
    if (asRoot) await lchown(entry.absolute, 0, 0);
    // chmod on a symlink would change its target: links keep their own (unused) mode.
    if (!entry.stats.isSymbolicLink()) await chmod(entry.absolute, frozenMode(entry));
  }
}

async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target);
    return true;
  } catch {
    return false;
  }
}

function sideName(imagesRoot: string, applicationId: string, purpose: string): string {
  return path.join(imagesRoot, `.${applicationId}.${purpose}-${randomBytes(6).toString('hex')}`);
}

/**
 * Moves the frozen tree to <imagesRoot>/<applicationId>. It is first staged beside the final name
 * (a rename, or a copy when the build folder is on another file system), then swapped in: an old
 * image is renamed aside first and removed only after the new one is in place.
 */
export async function installImage(packageDir: string, imagesRoot: string, applicationId: string): Promise<string> {
  await mkdir(imagesRoot, { recursive: true, mode: 0o755 });
  const finalDir = path.join(imagesRoot, applicationId);
  const staging = sideName(imagesRoot, applicationId, 'incoming');
  try {
    await rename(packageDir, staging);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await cp(packageDir, staging, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false, preserveTimestamps: true });
    await normalizeTree(staging);
  }
  let aside: string | null = null;
  try {
    if (await exists(finalDir)) {
      aside = sideName(imagesRoot, applicationId, 'old');
      await rename(finalDir, aside);
    }
    await rename(staging, finalDir);
  } catch (error) {
    if (aside) await rename(aside, finalDir).catch(() => undefined);
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  if (aside) await rm(aside, { recursive: true, force: true });
  return finalDir;
}

export async function freezeImage(options: FreezeOptions): Promise<FrozenImage> {
  try {
    await normalizeTree(options.packageDir);
    const digest = await computeTreeDigest(options.packageDir);
    const imageDir = await installImage(options.packageDir, options.imagesRoot, options.applicationId);
    return { imageDir, digest };
  } catch (error) {
    if (error instanceof BuildFailure) throw error;
    throw new BuildFailure(
      STEP,
      `The application image could not be created: ${describeError(error)}.`,
      'Check free disk space and permissions of the server data folder, then create the application again.',
    );
  }
}

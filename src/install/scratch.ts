import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Preparing and clean-up: scratch folders under workRoot, and removal of whole trees. */

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Names installImage/removeImage give to images on their way in or out. */
const SIDE_NAME = /^\..+\.(incoming|old|removed)-[0-9a-f]+$/;

export function isSafeApplicationId(applicationId: string): boolean {
  return SAFE_ID.test(applicationId);
}

/**
 * A fresh folder <workRoot>/<applicationId>-<random>. Mode 0711 so that an install command
 * running under another uid can reach the package folder inside, but not list the scratch folder.
 */
export async function createScratch(workRoot: string, applicationId: string): Promise<string> {
  await mkdir(workRoot, { recursive: true, mode: 0o711 });
  const dir = await mkdtemp(path.join(workRoot, `${applicationId}-`));
  await chmod(dir, 0o711);
  return dir;
}

/** Deletes a tree, first making folders writable if a non-root install command left them read-only. */
export async function removeTree(target: string): Promise<void> {
  try {
    await rm(target, { recursive: true, force: true });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
  }
  await makeFoldersWritable(target);
  await rm(target, { recursive: true, force: true });
}

async function makeFoldersWritable(target: string): Promise<void> {
  const info = await lstat(target).catch(() => null);
  if (!info?.isDirectory()) return;
  await chmod(target, 0o700).catch(() => undefined);
  for (const name of await readdir(target).catch(() => [] as string[])) {
    await makeFoldersWritable(path.join(target, name));
  }
}

/**
 * A half-moved image younger than this may belong to a swap another instance sharing the
 * data folder is doing right now; older ones are leftovers of a crash.
 */
const SIDE_FOLDER_MIN_AGE_MS = 10 * 60_000;

/** Removes every scratch folder under workRoot, and half-moved images left in imagesRoot. */
export async function clearScratchFolders(workRoot: string, imagesRoot: string, now: number = Date.now()): Promise<void> {
  for (const name of await readdir(workRoot).catch(() => [] as string[])) {
    await removeTree(path.join(workRoot, name));
  }
  for (const name of await readdir(imagesRoot).catch(() => [] as string[])) {
    if (!SIDE_NAME.test(name)) continue;
    const info = await lstat(path.join(imagesRoot, name)).catch(() => null);
    if (info && now - info.mtimeMs >= SIDE_FOLDER_MIN_AGE_MS) await removeTree(path.join(imagesRoot, name));
  }
}

/** Removes <imagesRoot>/<applicationId>: renamed aside first, so it disappears at once. */
export async function removeImageFolder(imagesRoot: string, applicationId: string): Promise<void> {
  const imageDir = path.join(imagesRoot, applicationId);
  const aside = path.join(imagesRoot, `.${applicationId}.removed-${randomBytes(6).toString('hex')}`);
  try {
    await rename(imageDir, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await removeTree(aside);
}

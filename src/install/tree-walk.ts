import type { Stats } from 'node:fs';
import { lchown, lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** Walking a package or image tree without ever following a symbolic link. */

export interface TreeEntry {
  /** Path relative to the root, '/'-separated; '' is the root itself. */
  relative: string;
  absolute: string;
  stats: Stats;
}

/** Every entry under `root` (root first), in a stable order: byte order of relative paths. */
export async function listTree(root: string): Promise<TreeEntry[]> {
  const result: TreeEntry[] = [];
  const visit = async (relative: string): Promise<void> => {
    const absolute = relative === '' ? root : path.join(root, relative);
    const stats = await lstat(absolute);
    result.push({ relative, absolute, stats });
    if (!stats.isDirectory()) return;
    const names = (await readdir(absolute)).sort(compareBytes);
    for (const name of names) {
      await visit(relative === '' ? name : `${relative}/${name}`);
    }
  };
  await visit('');
  return result.sort((a, b) => compareBytes(a.relative, b.relative));
}

export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Regular files that have more hard links than the tree itself holds: one of their names lives
 * outside the tree, so changing their owner or mode would change a file outside as well.
 */
export function filesLinkedOutside(entries: readonly TreeEntry[]): TreeEntry[] {
  const seen = new Map<string, number>();
  for (const entry of entries) {
    if (entry.stats.isFile() && entry.stats.nlink > 1) {
      const key = `${entry.stats.dev}:${entry.stats.ino}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return entries.filter((entry) => {
    if (!entry.stats.isFile() || entry.stats.nlink <= 1) return false;
    return (seen.get(`${entry.stats.dev}:${entry.stats.ino}`) ?? 0) < entry.stats.nlink;
  });
}

/** Sets the owner of every entry (links themselves, never their targets). */
export async function chownTree(entries: readonly TreeEntry[], uid: number, gid: number): Promise<void> {
  for (const entry of entries) {
    await lchown(entry.absolute, uid, gid);
  }
}

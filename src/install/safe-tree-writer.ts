import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readlink, realpath, rm, symlink, unlink, chmod } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes archive entries into one folder and nowhere else. Every path is checked before it is
 * touched: no absolute paths, no `..`, never through a symbolic link (each parent is lstat-ed and
 * must be a real directory; files are opened O_NOFOLLOW|O_EXCL), symlinks only when their target
 * stays inside, caps on entry count and on the bytes actually written.
 */

/** A package that breaks one of the unpacking rules; the message names the entry. */
export class UnsafePackageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePackageError';
  }
}

export interface TreeLimits {
  maxEntries: number;
  maxBytes: number;
  /** Checked between chunks, so a cancelled build stops inside a large entry too. */
  signal?: AbortSignal;
}

const MAX_LINK_TARGET_CHARS = 4096;

/** The components of an archive path, or a refusal for absolute paths and `..`. [] is the root. */
export function entryComponents(raw: string): string[] {
  if (raw.includes('\0')) throw new UnsafePackageError('an entry name contains a NUL character');
  if (raw.startsWith('/')) throw new UnsafePackageError(`entry "${shortName(raw)}" has an absolute path`);
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new UnsafePackageError(`entry "${shortName(raw)}" contains a ".." path component`);
  return parts;
}

function shortName(raw: string): string {
  const printable = raw.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 120 ? `${printable.slice(0, 117)}...` : printable;
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + path.sep);
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** True when a symlink at `linkComponents` pointing at `target` stays inside, read literally. */
export function linkTargetStaysInside(linkComponents: string[], target: string): boolean {
  if (target === '' || target.includes('\0') || target.startsWith('/')) return false;
  const joined = path.posix.normalize(path.posix.join(...linkComponents.slice(0, -1), target));
  return joined !== '..' && !joined.startsWith('../') && !path.posix.isAbsolute(joined);
}

export class SafeTreeWriter {
  private entries = 0;
  private bytes = 0;
  private readonly links: string[] = [];

  /** `root` must already exist and be a real path (no symlinks in it). */
  constructor(
    private readonly root: string,
    private readonly limits: TreeLimits,
  ) {}

  get entryCount(): number {
    return this.entries;
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  /** Counts one archive entry against the cap; call once per entry, whatever its type. */
  countEntry(): void {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw new UnsafePackageError(`the package has more than ${this.limits.maxEntries} entries`);
    }
  }

  async directory(rawPath: string, mode: number | undefined): Promise<void> {
    const parts = entryComponents(rawPath);
    if (parts.length === 0) return;
    const target = await this.prepareParents(parts);
    const existing = await lstatOrNull(target);
    if (existing?.isDirectory()) return;
    if (existing) await unlink(target);
    await mkdir(target, { mode: dirMode(mode) });
    await chmod(target, dirMode(mode));
  }

  /**
   * A regular file. `openData` is called only once the path is ready, so a source stream that can
   * fail (a zip entry) is read from the moment it exists and its errors always have a listener.
   */
  async file(rawPath: string, mode: number | undefined, openData: () => Promise<AsyncIterable<Buffer | Uint8Array>>): Promise<void> {
    const parts = entryComponents(rawPath);
    if (parts.length === 0) throw new UnsafePackageError('a file entry names the package root');
    const target = await this.prepareFinal(parts, rawPath);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(target, flags, 0o600);
    try {
      for await (const chunk of await openData()) {
        if (this.limits.signal?.aborted) throw new Error('cancelled');
        this.bytes += chunk.length;
        if (this.bytes > this.limits.maxBytes) {
          throw new UnsafePackageError(`the package unpacks to more than ${this.limits.maxBytes} bytes`);
        }
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
          offset += bytesWritten;
        }
      }
      await handle.chmod(fileMode(mode));
    } finally {
      await handle.close();
    }
  }

  async symlink(rawPath: string, target: string): Promise<void> {
    const parts = entryComponents(rawPath);
    if (parts.length === 0) throw new UnsafePackageError('a link entry names the package root');
    if (target.length > MAX_LINK_TARGET_CHARS || !linkTargetStaysInside(parts, target)) {
      throw new UnsafePackageError(`symbolic link "${shortName(rawPath)}" points outside the package`);
    }
    const location = await this.prepareFinal(parts, rawPath);
    await symlink(target, location);
    this.links.push(location);
  }

  /** A hard link; its target is a path from the package root and must be a regular file already written. */
  async hardlink(rawPath: string, rawTarget: string): Promise<void> {
    const parts = entryComponents(rawPath);
    const targetParts = entryComponents(rawTarget);
    if (parts.length === 0 || targetParts.length === 0) throw new UnsafePackageError('a hard link names the package root');
    const source = await this.existingPath(targetParts, rawPath);
    const sourceInfo = await lstatOrNull(source);
    if (!sourceInfo?.isFile()) {
      throw new UnsafePackageError(`hard link "${shortName(rawPath)}" does not point at a file earlier in the package`);
    }
    const location = await this.prepareFinal(parts, rawPath);
    await link(source, location);
  }

  /** After the last entry: every symlink must still resolve inside (chains of links included). */
  async finish(): Promise<void> {
    for (const location of this.links) {
      const resolved = await resolveLinkLocation(location);
      if (!isInside(this.root, resolved)) {
        const name = path.relative(this.root, location);
        await rm(location, { force: true });
        throw new UnsafePackageError(`symbolic link "${shortName(name)}" resolves outside the package`);
      }
    }
  }

  /** Makes the parent folders of `parts` (refusing any that is not a real directory) and returns the full path. */
  private async prepareParents(parts: string[]): Promise<string> {
    let current = this.root;
    for (const part of parts.slice(0, -1)) {
      current = path.join(current, part);
      const info = await lstatOrNull(current);
      if (!info) {
        await mkdir(current, { mode: 0o755 });
      } else if (info.isSymbolicLink()) {
        throw new UnsafePackageError(`an entry would be written through the symbolic link "${shortName(path.relative(this.root, current))}"`);
      } else if (!info.isDirectory()) {
        throw new UnsafePackageError(`an entry would be written below the file "${shortName(path.relative(this.root, current))}"`);
      }
    }
    return path.join(current, parts[parts.length - 1]!);
  }

  /** Parents ready and the final name free (an earlier file or link of that name is replaced, as tar does). */
  private async prepareFinal(parts: string[], rawPath: string): Promise<string> {
    const target = await this.prepareParents(parts);
    const existing = await lstatOrNull(target);
    if (existing?.isDirectory()) {
      throw new UnsafePackageError(`entry "${shortName(rawPath)}" would replace a folder`);
    }
    if (existing) await unlink(target);
    return target;
  }

  /** The full path of an existing entry, reached without passing through a symbolic link. */
  private async existingPath(parts: string[], rawPath: string): Promise<string> {
    let current = this.root;
    for (const part of parts.slice(0, -1)) {
      current = path.join(current, part);
      const info = await lstatOrNull(current);
      if (!info?.isDirectory()) {
        throw new UnsafePackageError(`hard link "${shortName(rawPath)}" does not point at a file earlier in the package`);
      }
    }
    return path.join(current, parts[parts.length - 1]!);
  }
}

async function lstatOrNull(target: string): Promise<import('node:fs').Stats | null> {
  try {
    return await lstat(target);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

function fileMode(mode: number | undefined): number {
  return ((mode ?? 0o644) & 0o777) | 0o600;
}

function dirMode(mode: number | undefined): number {
  return ((mode ?? 0o755) & 0o777) | 0o700;
}

/**
 * Where a symlink really leads. For a dangling link, the longest existing prefix of its target
 * is resolved for real and the rest is joined literally (which can only move it further out).
 */
async function resolveLinkLocation(location: string): Promise<string> {
  try {
    return await realpath(location);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
  }
  const target = await readlink(location);
  const raw = [...path.dirname(location).split('/'), ...target.split('/')];
  for (let cut = raw.length - 1; cut >= 1; cut -= 1) {
    const prefix = raw.slice(0, cut).join('/') || '/';
    try {
      const real = await realpath(prefix);
      return path.resolve(real, ...raw.slice(cut));
    } catch {
      // keep shortening until a prefix exists
    }
  }
  return path.resolve('/', ...raw);
}

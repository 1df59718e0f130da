import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { SafeTreeWriter, UnsafePackageError } from './safe-tree-writer.js';

/** Unpacks a zip through the SafeTreeWriter; Unix modes and symlinks come from the external attributes. */

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const MAX_LINK_TARGET_BYTES = 4096;

/** Errors a zip emitted while nobody was waiting on it; the next read reports them. */
const pendingErrors = new WeakMap<ZipFile, Error>();

function nextEntry(zip: ZipFile): Promise<Entry | null> {
  return new Promise((resolve, reject) => {
    const pending = pendingErrors.get(zip);
    if (pending) {
      reject(pending);
      return;
    }
    const cleanup = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: Entry): void => {
      cleanup();
      resolve(entry);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

async function readLinkTarget(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_LINK_TARGET_BYTES) {
      stream.destroy();
      throw new UnsafePackageError('a symbolic link target is too long');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function writeZipEntry(zip: ZipFile, entry: Entry, writer: SafeTreeWriter): Promise<void> {
  writer.countEntry();
  const unixMode = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? entry.externalFileAttributes >>> 16 : 0;
  const kind = unixMode & S_IFMT;
  const mode = unixMode & 0o7777 ? unixMode & 0o7777 : undefined;
  if (entry.fileName.endsWith('/') || kind === S_IFDIR) {
    await writer.directory(entry.fileName, mode);
    return;
  }
  if (kind === S_IFLNK) {
    const target = await readLinkTarget(await zip.openReadStreamPromise(entry));
    await writer.symlink(entry.fileName, target);
    return;
  }
  if (kind !== 0 && kind !== S_IFREG) {
    throw new UnsafePackageError(`entry "${entry.fileName.slice(0, 120)}" is a device, FIFO or socket, which packages may not contain`);
  }
  await writer.file(entry.fileName, mode, () => zip.openReadStreamPromise(entry));
}

export async function unpackZip(archive: string, writer: SafeTreeWriter, maxEntries: number, signal?: AbortSignal): Promise<void> {
  const zip = await yauzl.openPromise(archive, {
    lazyEntries: true,
    autoClose: false,
    decodeStrings: true,
    validateEntrySizes: true,
    strictFileNames: false,
  });
  zip.on('error', (error: Error) => {
    if (!pendingErrors.has(zip)) pendingErrors.set(zip, error);
  });
  try {
    if (zip.entryCount > maxEntries) {
      throw new UnsafePackageError(`the package has more than ${maxEntries} entries`);
    }
    for (let entry = await nextEntry(zip); entry; entry = await nextEntry(zip)) {
      if (signal?.aborted) throw new Error('cancelled');
      await writeZipEntry(zip, entry, writer);
    }
  } finally {
    zip.close();
  }
  await writer.finish();
}

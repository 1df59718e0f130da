import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { SafeTreeWriter, UnsafePackageError } from './safe-tree-writer.js';

/**
 * Unpacks a tar (gzip-compressed or plain) through the SafeTreeWriter. tar's own extractor is not
 * used: its Parser only reads entries, and every write goes through our checks.
 */

/** Hands an entry's body to the writer as a Node stream (see `current` in unpackTar). */
type BodyOpener = (entry: ReadEntry) => Promise<PassThrough>;

async function writeTarEntry(entry: ReadEntry, writer: SafeTreeWriter, openBody: BodyOpener): Promise<void> {
  writer.countEntry();
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      await writer.file(entry.path, entry.mode, () => openBody(entry));
      return;
    case 'Directory':
    case 'GNUDumpDir':
      await writer.directory(entry.path, entry.mode);
      break;
    case 'SymbolicLink':
      await writer.symlink(entry.path, entry.linkpath ?? '');
      break;
    case 'Link':
      await writer.hardlink(entry.path, entry.linkpath ?? '');
      break;
    case 'CharacterDevice':
    case 'BlockDevice':
    case 'FIFO':
      throw new UnsafePackageError(`entry "${entry.path.slice(0, 120)}" is a device or FIFO, which packages may not contain`);
    default:
      // Metadata-only entry kinds (ACLs, volume headers...) carry nothing to write.
      break;
  }
  entry.resume();
}

export async function unpackTar(archive: string, writer: SafeTreeWriter, signal?: AbortSignal): Promise<void> {
  const parser = new Parser({ strict: true });
  let failure: Error | null = null;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  // Feeders waiting for the parser to drain; woken on failure too, since then no drain comes.
  const drainWaiters = new Set<() => void>();
  const waitForDrain = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (failure) {
        resolve();
        return;
      }
      const wake = (): void => {
        parser.off('drain', wake);
        drainWaiters.delete(wake);
        resolve();
      };
      parser.on('drain', wake);
      drainWaiters.add(wake);
    });
  // The body being written. An aborted parser never ends its entry, so on failure this stream
  // is destroyed: a Node stream's iterator rejects even when destroyed before reading starts.
  let current: PassThrough | null = null;
  const fail = (error: unknown): void => {
    if (failure) return;
    failure = error instanceof Error ? error : new Error(String(error));
    stop();
    for (const wake of drainWaiters) wake();
    parser.abort(failure);
    current?.destroy(failure);
  };
  const openBody: BodyOpener = async (entry) => {
    const body = new PassThrough();
    body.on('error', () => undefined); // reported through the reader's iterator
    current = body;
    if (failure) body.destroy(failure);
    else entry.pipe(body);
    return body;
  };
  // Entries arrive one at a time (the parser waits for each to end), so a promise chain keeps order.
  let chain: Promise<void> = Promise.resolve();
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain.then(async () => {
      if (failure) {
        entry.resume();
        return;
      }
      try {
        await writeTarEntry(entry, writer, openBody);
      } catch (error) {
        fail(error);
        entry.resume();
      } finally {
        current = null;
      }
    });
  });
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  parser.on('error', (error: Error) => fail(error));
  const onAbort = (): void => fail(new Error('cancelled'));
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const input = createReadStream(archive);
    try {
      for await (const chunk of input) {
        if (failure) break;
        if (!parser.write(chunk as Buffer)) {
          await waitForDrain();
        }
      }
    } finally {
      input.destroy();
    }
    if (!failure) parser.end();
    await Promise.race([ended, stopped]);
    await chain;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure;
  await writer.finish();
}

/**
 * Hands out one unprivileged uid per live session, so per-uid limits (nproc) are per session.
 * With a lock folder, uids are also exclusive across processes on the host (several
 * instances or test servers): a uid is taken by creating `<lockDir>/<uid>` exclusively,
 * holding the owner's pid; a lock whose pid is dead is taken over.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class UidPoolExhaustedError extends Error {
  constructor(first: number, last: number) {
    super(`no free sandbox uid in ${first}-${last}`);
    this.name = 'UidPoolExhaustedError';
  }
}

export interface UidPool {
  /** Takes a free uid; throws UidPoolExhaustedError when all are in use. */
  acquire(): number;
  /** Gives a uid back; releasing a uid that is not in use does nothing. */
  release(uid: number): void;
  inUse(): number[];
  readonly first: number;
  readonly last: number;
}

export const DEFAULT_UID_RANGE = { first: 61000, last: 61999 } as const;

/** Where host-wide uid locks live when the server runs as root. */
export const DEFAULT_UID_LOCK_DIR = '/run/appstreamd/uids';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the host-wide lock of a uid; false if another live process holds it. */
function lockUid(lockDir: string, uid: number): boolean {
  const file = path.join(lockDir, String(uid));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) return false;
      try {
        unlinkSync(file); // stale: its process is gone
      } catch {
        // another process took it over first
      }
    }
  }
  return false;
}

export function createUidPool(
  first: number = DEFAULT_UID_RANGE.first,
  last: number = DEFAULT_UID_RANGE.last,
  lockDir: string | null = null,
): UidPool {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first || last > 0xfffffffe) {
    throw new RangeError(`invalid uid range ${first}-${last}`);
  }
  const used = new Set<number>();
  if (lockDir) mkdirSync(lockDir, { recursive: true, mode: 0o700 });
  // Round-robin so a just-released uid (whose stray processes might still be dying) is reused last.
  let next = first;
  return {
    first,
    last,
    acquire(): number {
      const size = last - first + 1;
      for (let i = 0; i < size; i++) {
        const uid = first + ((next - first + i) % size);
        if (!used.has(uid) && (!lockDir || lockUid(lockDir, uid))) {
          used.add(uid);
          next = uid === last ? first : uid + 1;
          return uid;
        }
      }
      throw new UidPoolExhaustedError(first, last);
    },
    release(uid: number): void {
      if (!used.delete(uid) || !lockDir) return;
      try {
        unlinkSync(path.join(lockDir, String(uid)));
      } catch {
        // already gone
      }
    },
    inUse(): number[] {
      return [...used].sort((a, b) => a - b);
    },
  };
}

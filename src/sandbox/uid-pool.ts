/** Hands out one unprivileged uid per live session, so per-uid limits (nproc) are per session. */
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

export function createUidPool(first: number = DEFAULT_UID_RANGE.first, last: number = DEFAULT_UID_RANGE.last): UidPool {
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last < first || last > 0xfffffffe) {
    throw new RangeError(`invalid uid range ${first}-${last}`);
  }
  const used = new Set<number>();
  // Round-robin so a just-released uid (whose stray processes might still be dying) is reused last.
  let next = first;
  return {
    first,
    last,
    acquire(): number {
      const size = last - first + 1;
      for (let i = 0; i < size; i++) {
        const uid = first + ((next - first + i) % size);
        if (!used.has(uid)) {
          used.add(uid);
          next = uid === last ? first : uid + 1;
          return uid;
        }
      }
      throw new UidPoolExhaustedError(first, last);
    },
    release(uid: number): void {
      used.delete(uid);
    },
    inUse(): number[] {
      return [...used].sort((a, b) => a - b);
    },
  };
}

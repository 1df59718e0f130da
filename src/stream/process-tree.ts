import { readdirSync, readFileSync } from 'node:fs';

interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
}

function readProcEntry(pid: number): ProcEntry | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return null; // already dead, only waiting to be reaped
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]) };
  } catch {
    return null;
  }
}

function listProcesses(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readProcEntry(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

/** Live pids of `root` and all its descendants, plus members of `pgid` when given. */
export function processTree(root: number, pgid?: number): number[] {
  const processes = listProcesses();
  const children = new Map<number, number[]>();
  for (const p of processes) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const found = new Set<number>();
  const alive = new Set(processes.map((p) => p.pid));
  const stack = alive.has(root) ? [root] : [];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (found.has(pid)) continue;
    found.add(pid);
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  if (pgid !== undefined && pgid > 1) {
    for (const p of processes) if (p.pgid === pgid) found.add(p.pid);
  }
  return [...found].sort((a, b) => a - b);
}

export function isAlive(pid: number): boolean {
  return readProcEntry(pid) !== null;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * SIGKILLs the pids, whatever `collect` finds on each pass (new forks), and the process group,
 * until /proc shows none of them alive or the time is up. Returns whether all are gone.
 */
export async function killAndWait(
  pids: readonly number[],
  pgid: number | null,
  collect: () => number[] = () => [],
  timeoutMs = 10_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const known = new Set(pids);
  for (;;) {
    if (pgid !== null && pgid > 1) killQuietly(-pgid, 'SIGKILL');
    for (const pid of collect()) known.add(pid);
    const remaining = [...known].filter(isAlive);
    for (const pid of remaining) killQuietly(pid, 'SIGKILL');
    if (remaining.length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

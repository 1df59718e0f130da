import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

export type IsolationLevel = 'full' | 'reduced';

/** Absolute paths of the host tools the sandbox uses; null when not found. */
export interface SandboxTools {
  unshare: string | null;
  setpriv: string | null;
  prlimit: string | null;
  env: string | null;
  sh: string | null;
}

export interface SandboxCapabilities {
  isolation: IsolationLevel;
  /** Why isolation is reduced (empty when full); also notes on optional features. */
  reasons: string[];
  isRoot: boolean;
  namespaces: boolean;
  /** A writable cgroup v2 hierarchy, when found (limits there are not applied yet). */
  cgroupV2Dir: string | null;
  tools: SandboxTools;
}

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findExecutable(name: string, searchPath: readonly string[] = SEARCH_PATH): string | null {
  for (const dir of searchPath) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** Tries the exact namespace set a session uses, so "full" means it really works here. */
function canCreateNamespaces(unshare: string): { ok: boolean; detail: string } {
  const result = spawnSync(
    unshare,
    ['--pid', '--fork', '--kill-child', '--mount-proc', '--net', '--ipc', '--uts', '--', 'true'],
    { timeout: 5000, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: SEARCH_PATH.join(':') } },
  );
  if (result.status === 0) return { ok: true, detail: '' };
  const stderr = result.stderr ? result.stderr.toString('utf8').trim() : '';
  return { ok: false, detail: stderr || result.error?.message || `exit ${String(result.status)}` };
}

function writableCgroupV2Dir(): string | null {
  for (const dir of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (!existsSync(path.join(dir, 'cgroup.controllers'))) continue;
    try {
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {
      // read-only mount
    }
  }
  return null;
}

/** Probes the host once at start; the result decides how every program is launched. */
export function probeCapabilities(): SandboxCapabilities {
  const tools: SandboxTools = {
    unshare: findExecutable('unshare'),
    setpriv: findExecutable('setpriv'),
    prlimit: findExecutable('prlimit'),
    env: findExecutable('env'),
    sh: findExecutable('sh'),
  };
  const reasons: string[] = [];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) reasons.push('not running as root: no namespaces and no separate uid per session');
  if (!tools.unshare) reasons.push('unshare (util-linux) not found');
  if (!tools.setpriv) reasons.push('setpriv (util-linux) not found');
  if (!tools.prlimit) reasons.push('prlimit (util-linux) not found: resource limits are not applied');
  if (!tools.env) reasons.push('env (coreutils) not found');
  if (!tools.sh) reasons.push('/bin/sh not found');

  let namespaces = false;
  if (isRoot && tools.unshare) {
    const probe = canCreateNamespaces(tools.unshare);
    namespaces = probe.ok;
    if (!probe.ok) reasons.push(`cannot create pid/mount/net/ipc/uts namespaces: ${probe.detail}`);
  }
  const full = isRoot && namespaces && tools.setpriv !== null && tools.prlimit !== null && tools.env !== null && tools.sh !== null;
  const cgroupV2Dir = writableCgroupV2Dir();
  return {
    isolation: full ? 'full' : 'reduced',
    reasons,
    isRoot,
    namespaces,
    cgroupV2Dir,
    tools,
  };
}

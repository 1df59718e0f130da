import { constants } from 'node:os';
import type { ProgramExit } from './types.js';

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num, name]),
);

export function signalName(signal: number): string {
  return SIGNAL_NAMES.get(signal) ?? `SIG${signal}`;
}

/**
 * Signals that mean a resource limit ended the program: SIGXCPU/SIGKILL (CPU soft/hard limit,
 * or the OOM killer) and SIGXFSZ (file size). A SIGSEGV after a failed allocation under the
 * address-space limit cannot be told from an ordinary crash, so it stays 'exit'.
 */
const LIMIT_SIGNALS = new Set(['SIGXCPU', 'SIGXFSZ', 'SIGKILL']);

/**
 * Classifies how the top process ended. Under the sandbox's sh init a program killed by signal N
 * shows as exit code 128+N, so codes above 128 are read as signals.
 */
export function classifyExit(exitCode: number | null, signal: number | null, killedByUs: boolean): ProgramExit {
  if (killedByUs) {
    return { exitCode, signal: signal ? signalName(signal) : null, reason: 'killed' };
  }
  if (signal) {
    const name = signalName(signal);
    return { exitCode: null, signal: name, reason: LIMIT_SIGNALS.has(name) ? 'limit' : 'exit', detail: `terminated by ${name}` };
  }
  if (exitCode !== null && exitCode > 128 && exitCode < 128 + 65) {
    const name = signalName(exitCode - 128);
    if (LIMIT_SIGNALS.has(name)) {
      return { exitCode, signal: name, reason: 'limit', detail: `terminated by ${name} (resource limit)` };
    }
    return { exitCode, signal: null, reason: 'exit', detail: `exit code ${exitCode} (${name}?)` };
  }
  return { exitCode, signal: null, reason: 'exit' };
}

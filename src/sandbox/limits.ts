/** Per-program resource limits applied with prlimit (soft = hard). */
export interface SandboxLimits {
  /** Address space in bytes (RLIMIT_AS). */
  addressSpaceBytes: number;
  /** Processes per uid (RLIMIT_NPROC): each session has its own uid, so this is per session. */
  processes: number;
  /** CPU time in seconds (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Open file descriptors (RLIMIT_NOFILE). */
  openFiles: number;
  /** Largest file the program may write, in bytes (RLIMIT_FSIZE). */
  fileSizeBytes: number;
}

export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  addressSpaceBytes: 1024 ** 3,
  processes: 128,
  cpuSeconds: 3600,
  openFiles: 1024,
  fileSizeBytes: 256 * 1024 ** 2,
});

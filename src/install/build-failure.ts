import type { BuildStep } from './build-types.js';

export type BuildErrorCode =
  | 'InstallerDownloadFailed'
  | 'InstallerFailed'
  | 'ImageCreationFailed'
  | 'ProvisioningFailed';

/** The error code each step reports (api spec §3.8: Preparing shares ProvisioningFailed). */
export const ERROR_CODE_BY_STEP: Readonly<Record<BuildStep, BuildErrorCode>> = {
  Preparing: 'ProvisioningFailed',
  Copying: 'InstallerDownloadFailed',
  Installing: 'InstallerFailed',
  Creating: 'ImageCreationFailed',
  Provisioning: 'ProvisioningFailed',
};

/**
 * A failed build step, carrying what the Application error record needs.
 * `cause` overrides Error.cause with a plain string (the record's `cause` field; `failureCause`
 * is the same text under a name free of that clash). It never holds secrets such as presigned
 * query strings.
 */
export class BuildFailure extends Error {
  readonly step: BuildStep;
  readonly errorCode: BuildErrorCode;
  override readonly cause: string;
  readonly solution: string;

  /** The error code follows from the step unless given explicitly. */
  constructor(step: BuildStep, cause: string, solution: string);
  constructor(step: BuildStep, errorCode: BuildErrorCode, cause: string, solution: string);
  constructor(step: BuildStep, ...rest: [string, string] | [BuildErrorCode, string, string]) {
    const [errorCode, cause, solution] = rest.length === 3 ? rest : [ERROR_CODE_BY_STEP[step], ...rest];
    super(cause);
    this.name = 'BuildFailure';
    this.step = step;
    this.errorCode = errorCode;
    this.cause = cause;
    this.solution = solution;
  }

  get failureCause(): string {
    return this.cause;
  }
}

export function isBuildFailure(value: unknown): value is BuildFailure {
  return value instanceof BuildFailure;
}

/** Throws a BuildFailure for `step` when the build has been cancelled. */
export function throwIfCancelled(signal: AbortSignal | undefined, step: BuildStep): void {
  if (signal?.aborted) {
    throw new BuildFailure(step, 'The build was cancelled.', 'Start the build again if it is still wanted.');
  }
}

/** A short, secret-free description of an unexpected error (code + message, one line). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const text = error.message.replace(/\s+/g, ' ').trim();
    return code && !text.includes(code) ? `${code}: ${text}` : text;
  }
  return String(error);
}

import type { PageTokenCodec } from '../../hal/page-token.js';
import type { ApplicationsRepo } from '../../store/applications-repo.js';
import type { SessionsRepo } from '../../store/sessions-repo.js';

/** Starts background builds; owned by src/install/build-runner.ts. */
export interface BuildScheduler {
  /** Moves the application from one of `from` to Building and starts the build; false if its state did not allow it. */
  start(applicationId: string, from: readonly string[], mode: 'install' | 'reprovision'): Promise<boolean>;
  /** Deletes an application's installed image (delete operation). */
  removeImage(applicationId: string): Promise<void>;
}

/** What the application resources need from the rest of the server. */
export interface ApplicationsDeps {
  applications: ApplicationsRepo;
  sessions: SessionsRepo;
  pageTokens: PageTokenCodec;
  builds: BuildScheduler;
  sessionCapacity: number;
  allowPrivateInstallerHosts: boolean;
}

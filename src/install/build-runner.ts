/**
 * Runs application builds in the background with bounded concurrency and writes their
 * progress through the applications store. A build owns the application only while its
 * generation matches, so a restarted or superseded build can never overwrite a newer one.
 */
import type { Logger } from 'pino';
import type { ApplicationsRepo, ApplicationRow } from '../store/applications-repo.js';
import { BuildFailure, clearScratch, removeImage, reprovision, runBuild, type BuildSettings, type BuildSpec, type StreamProtocol } from './pipeline.js';

interface Job {
  applicationId: string;
  generation: number;
  mode: 'install' | 'reprovision';
}

export class BuildRunner {
  private readonly queue: Job[] = [];
  private running = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborts = new Set<AbortController>();
  private closed = false;
  /** Observer of finished builds (metrics). */
  onOutcome?: (outcome: 'active' | 'error') => void;

  constructor(
    private readonly apps: ApplicationsRepo,
    private readonly settings: BuildSettings,
    private readonly log: Logger,
    /** This instance's id: recorded as the owner of the builds it runs. */
    private readonly owner: string,
    private readonly concurrency = 2,
  ) {}

  async start(applicationId: string, from: readonly string[], mode: 'install' | 'reprovision'): Promise<boolean> {
    const generation = await this.apps.beginBuild(applicationId, from, mode === 'install' ? 'Preparing' : 'Provisioning', this.owner);
    if (generation === undefined) return false;
    this.schedule(applicationId, generation, mode);
    return true;
  }

  private schedule(applicationId: string, generation: number, mode: 'install' | 'reprovision'): void {
    if (this.closed) return;
    this.queue.push({ applicationId, generation, mode });
    this.pump();
  }

  removeImage(applicationId: string): Promise<void> {
    return removeImage(this.settings, applicationId);
  }

  /** At start: remove this instance's half-made scratch folders (a fresh folder per instance). */
  async clearOwnScratch(): Promise<void> {
    await clearScratch(this.settings);
  }

  /**
   * Restarts, from the beginning, every build left unfinished by an instance that is no
   * longer alive (a crashed or restarted process). Nothing half-installed stays: the image
   * is only ever replaced by an atomic rename.
   */
  async recover(aliveInstances: string[]): Promise<number> {
    const stuck = await this.apps.listOrphanBuilds(aliveInstances);
    let resumed = 0;
    for (const app of stuck) {
      const mode = app.state === 'Building' && app.build_step === 'Provisioning' && app.image_digest ? 'reprovision' : 'install';
      if (await this.start(app.id, [app.state], mode)) {
        resumed++;
        this.log.info({ applicationId: app.id, mode }, 'resuming interrupted build');
      }
    }
    return resumed;
  }

  /** Resolves when every queued and running build has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await Promise.race([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    for (const a of this.aborts) a.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      const p = this.run(job)
        .catch((err: unknown) => this.log.error({ err, applicationId: job.applicationId }, 'build runner failure'))
        .finally(() => {
          this.running--;
          this.inFlight.delete(p);
          this.pump();
        });
      this.inFlight.add(p);
    }
  }

  private async run(job: Job): Promise<void> {
    const app = await this.apps.getInternal(job.applicationId);
    if (!app || app.state !== 'Building' || app.build_generation !== job.generation) return;
    const spec = specOf(app);
    const abort = new AbortController();
    this.aborts.add(abort);
    const hooks = {
      signal: abort.signal,
      onStep: async (step: string) => {
        if (!(await this.apps.setBuildStep(app.id, job.generation, step))) abort.abort();
      },
    };
    try {
      const result = job.mode === 'install' ? await runBuild(spec, this.settings, hooks) : await reprovision(spec, this.settings, hooks);
      if (!(await this.apps.completeBuild(app.id, job.generation, result.digest))) {
        this.log.info({ applicationId: app.id }, 'build finished but no longer owns the application');
      } else {
        this.log.info({ applicationId: app.id, digest: result.digest }, 'application active');
        this.onOutcome?.('active');
      }
    } catch (err) {
      if (this.closed || abort.signal.aborted) return; // shutdown or superseded: recovery restarts it
      const failure =
        err instanceof BuildFailure
          ? err
          : new BuildFailure('Preparing', 'An internal error stopped the build.', 'Try adding the application again.');
      if (!(err instanceof BuildFailure)) this.log.error({ err, applicationId: app.id }, 'unexpected build error');
      const current = await this.apps.getInternal(app.id);
      const step = failure.step ?? current?.build_step ?? 'Preparing';
      await this.apps.failBuild(app.id, job.generation, step, {
        type: 'Application',
        errorCode: failure.errorCode,
        cause: failure.cause,
        solution: failure.solution,
      });
      this.log.info({ applicationId: app.id, step, errorCode: failure.errorCode }, 'build failed');
      this.onOutcome?.('error');
    } finally {
      this.aborts.delete(abort);
    }
  }
}

export function specOf(app: ApplicationRow): BuildSpec {
  return {
    applicationId: app.id,
    installerUrl: app.installer_url,
    installerParameters: app.installer_parameters,
    launchPath: app.launch_path,
    streamProtocol: app.stream_protocol as StreamProtocol,
  };
}

import path from 'node:path';
import { BuildFailure, describeError, throwIfCancelled } from './build-failure.js';
import {
  resolveBuildSettings,
  type BuildHooks,
  type BuildResult,
  type BuildSettings,
  type BuildSpec,
  type BuildStep,
} from './build-types.js';
import { fetchInstaller } from './fetch-installer.js';
import { computeTreeDigest, freezeImage } from './freeze-image.js';
import { checkProvisioning } from './provision.js';
import { runInstallCommand } from './run-install-command.js';
import { clearScratchFolders, createScratch, isSafeApplicationId, removeImageFolder, removeTree } from './scratch.js';
import { unpackPackage } from './unpack.js';

/**
 * The install pipeline (data-plane.md "Install pipeline"): Preparing → Copying → Installing →
 * Creating → Provisioning. Each step lives in its own module and fails with a BuildFailure naming
 * the step; the API layer turns that into the application's Error state and error record.
 * The scratch folder is always removed; a first build that fails after Creating removes its image.
 */

export type { BuildHooks, BuildResult, BuildSettings, BuildSpec, BuildStep, StreamProtocol } from './build-types.js';
export { BuildFailure, isBuildFailure, type BuildErrorCode } from './build-failure.js';

const UNEXPECTED_SOLUTION = 'Try again; if it keeps failing, check the appstreamd server log.';

/** Announces a step (awaiting the hook) and stops if the build was cancelled meanwhile. */
async function enterStep(step: BuildStep, hooks: BuildHooks): Promise<void> {
  throwIfCancelled(hooks.signal, step);
  await hooks.onStep(step);
  throwIfCancelled(hooks.signal, step);
}

function unexpected(step: BuildStep, error: unknown): BuildFailure {
  return new BuildFailure(step, `Unexpected error: ${describeError(error)}.`, UNEXPECTED_SOLUTION);
}

function requireSafeId(applicationId: string, step: BuildStep): void {
  if (!isSafeApplicationId(applicationId)) {
    throw new BuildFailure(step, 'The application id is not usable as a folder name.', UNEXPECTED_SOLUTION);
  }
}

export async function runBuild(spec: BuildSpec, settings: BuildSettings, hooks: BuildHooks): Promise<BuildResult> {
  const config = resolveBuildSettings(settings);
  const signal = hooks.signal;
  let step: BuildStep = 'Preparing';
  let scratch: string | null = null;
  let imageDir: string | null = null;
  // Errors thrown by onStep itself belong to the caller and pass through unchanged.
  let inHook = false;
  const enter = async (next: BuildStep): Promise<void> => {
    step = next;
    inHook = true;
    await enterStep(next, hooks);
    inHook = false;
  };

  try {
    await enter('Preparing');
    requireSafeId(spec.applicationId, step);
    scratch = await createScratch(config.workRoot, spec.applicationId);

    await enter('Copying');
    const installer = await fetchInstaller({
      url: spec.installerUrl,
      destinationFile: path.join(scratch, 'installer.download'),
      allowPrivateHosts: config.allowPrivateHosts,
      maxBytes: config.maxInstallerBytes,
      timeoutMs: config.downloadTimeoutMs,
      maxRedirects: config.maxRedirects,
      ...(spec.installerSha256 ? { expectedSha256: spec.installerSha256 } : {}),
      ...(signal ? { signal } : {}),
    });

    await enter('Installing');
    const packageDir = path.join(scratch, 'package');
    await unpackPackage({
      installerFile: installer.file,
      fileName: installer.fileName,
      packageDir,
      maxEntries: config.maxEntries,
      maxUnpackedBytes: config.maxUnpackedBytes,
      ...(signal ? { signal } : {}),
    });
    if (spec.installerParameters.trim() !== '') {
      await runInstallCommand({
        command: spec.installerParameters,
        packageDir,
        timeoutMs: config.installTimeoutMs,
        maxFileBytes: config.maxUnpackedBytes,
        ...(signal ? { signal } : {}),
      });
    }

    await enter('Creating');
    const frozen = await freezeImage({ packageDir, imagesRoot: config.imagesRoot, applicationId: spec.applicationId });
    imageDir = frozen.imageDir;

    await enter('Provisioning');
    await checkProvisioning({ imageDir, launchPath: spec.launchPath, streamProtocol: spec.streamProtocol });
    return frozen;
  } catch (error) {
    // Nothing half-installed: an image that failed its later checks goes too.
    if (imageDir) await removeImageFolder(config.imagesRoot, spec.applicationId).catch(() => undefined);
    if (error instanceof BuildFailure || inHook) throw error;
    throw unexpected(step, error);
  } finally {
    if (scratch) await removeTree(scratch).catch(() => undefined);
  }
}

/** Reactivate: re-run only the Provisioning checks on the existing image. The image stays on failure. */
export async function reprovision(spec: BuildSpec, settings: BuildSettings, hooks: BuildHooks): Promise<BuildResult> {
  const config = resolveBuildSettings(settings);
  await enterStep('Provisioning', hooks);
  try {
    requireSafeId(spec.applicationId, 'Provisioning');
    const imageDir = path.join(config.imagesRoot, spec.applicationId);
    await checkProvisioning({ imageDir, launchPath: spec.launchPath, streamProtocol: spec.streamProtocol });
    return { imageDir, digest: await computeTreeDigest(imageDir) };
  } catch (error) {
    if (error instanceof BuildFailure) throw error;
    throw unexpected('Provisioning', error);
  }
}

export async function removeImage(settings: BuildSettings, applicationId: string): Promise<void> {
  if (!isSafeApplicationId(applicationId)) throw new Error('The application id is not usable as a folder name.');
  await removeImageFolder(settings.imagesRoot, applicationId);
}

/** At server start: delete every leftover scratch folder under workRoot (half-made builds). */
export async function clearScratch(settings: BuildSettings): Promise<void> {
  await clearScratchFolders(settings.workRoot, settings.imagesRoot);
}

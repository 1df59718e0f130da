/** The shapes the install pipeline is driven with; re-exported by pipeline.ts. */

export type BuildStep = 'Preparing' | 'Copying' | 'Installing' | 'Creating' | 'Provisioning';
export type StreamProtocol = 'terminal' | 'x11';

export interface BuildSpec {
  applicationId: string;          // uuid, safe as a folder name
  installerUrl: string;
  installerParameters: string;    // '' = no install command
  launchPath: string;             // relative to the image root; a leading '/' means the image root
  streamProtocol: StreamProtocol;
  installerSha256?: string;       // optional integrity check
}

export interface BuildSettings {
  workRoot: string;               // scratch folders for builds in progress, e.g. <data>/build
  imagesRoot: string;             // finished images: <imagesRoot>/<applicationId>
  allowPrivateHosts: boolean;     // APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS
  maxInstallerBytes: number;      // APPSTREAMD_MAX_INSTALLER_BYTES
  downloadTimeoutMs?: number;     // default 120000
  maxRedirects?: number;          // default 5
  maxEntries?: number;            // default 10000 archive entries
  maxUnpackedBytes?: number;      // default 4 * maxInstallerBytes (zip/tar bomb cap)
  installTimeoutMs?: number;      // default 300000 for installerParameters
}

export interface BuildHooks {
  onStep(step: BuildStep): Promise<void> | void;
  signal?: AbortSignal;
}

export interface BuildResult {
  imageDir: string;
  digest: string; // sha256 hex over the frozen tree
}

/** BuildSettings with every default filled in. */
export type ResolvedBuildSettings = Required<BuildSettings>;

export function resolveBuildSettings(settings: BuildSettings): ResolvedBuildSettings {
  return {
    workRoot: settings.workRoot,
    imagesRoot: settings.imagesRoot,
    allowPrivateHosts: settings.allowPrivateHosts,
    maxInstallerBytes: settings.maxInstallerBytes,
    downloadTimeoutMs: settings.downloadTimeoutMs ?? 120_000,
    maxRedirects: settings.maxRedirects ?? 5,
    maxEntries: settings.maxEntries ?? 10_000,
    maxUnpackedBytes: settings.maxUnpackedBytes ?? 4 * settings.maxInstallerBytes,
    installTimeoutMs: settings.installTimeoutMs ?? 300_000,
  };
}

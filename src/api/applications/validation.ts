/** Body validation for application:create (§3.3) and application:update (§3.5). */
import type { JsonObject } from '../../http/types.js';
import type { ApplicationPatch, NewApplication } from '../../store/applications-repo.js';
import { invalid, optionalString, requiredString } from '../validate.js';

export const STREAM_PROTOCOLS = ['terminal', 'x11'] as const;

/** 2013 `launchCommand` → path + parameters; a leading double-quoted token may hold spaces. */
export function splitLaunchCommand(command: string): { launchPath: string; launchParameters: string } {
  const trimmed = command.trim();
  if (trimmed.startsWith('"')) {
    const close = trimmed.indexOf('"', 1);
    if (close > 0) return { launchPath: trimmed.slice(1, close), launchParameters: trimmed.slice(close + 1).trim() };
  }
  const space = trimmed.search(/\s/);
  if (space < 0) return { launchPath: trimmed, launchParameters: '' };
  return { launchPath: trimmed.slice(0, space), launchParameters: trimmed.slice(space).trim() };
}

/** The derived legacy form emitted to 2013-era clients. */
export function joinLaunchCommand(launchPath: string, launchParameters: string): string {
  const path = /\s/.test(launchPath) ? `"${launchPath}"` : launchPath;
  return launchParameters === '' ? path : `${path} ${launchParameters}`;
}

function launchFields(body: JsonObject, required: boolean): { launchPath?: string; launchParameters?: string } {
  const launchPath = optionalString(body, 'launchPath', { min: 1, max: 260, notBlank: true });
  const launchParameters = optionalString(body, 'launchParameters', { max: 1024 });
  const launchCommand = optionalString(body, 'launchCommand', { min: 1, max: 1290, notBlank: true });
  // A double quote cannot be represented in the derived launchCommand (Windows paths never hold one).
  if (launchPath !== undefined && launchPath.includes('"')) throw invalid('launchPath', 'must not contain double quotes');
  if (launchPath !== undefined) return { launchPath, launchParameters: launchParameters ?? (required ? '' : undefined) };
  if (launchCommand !== undefined) {
    const split = splitLaunchCommand(launchCommand);
    if (split.launchPath === '') throw invalid('launchCommand', 'must name an executable');
    if ([...split.launchPath].length > 260) throw invalid('launchCommand', 'the executable path must be at most 260 characters');
    return { launchPath: split.launchPath, launchParameters: launchParameters ?? split.launchParameters };
  }
  if (required) throw invalid('launchPath', 'is required (or give launchCommand)');
  return { launchParameters };
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function logBucketField(body: JsonObject): string | undefined {
  const value = optionalString(body, 'logBucket', { max: 63 });
  if (value === undefined || value === '') return value;
  if (!BUCKET_RE.test(value) || value.includes('..')) throw invalid('logBucket', 'must be an S3 bucket name of 3 to 63 lowercase letters, digits, dots and hyphens');
  return value;
}

function logPathsField(body: JsonObject): string[] | undefined {
  const value = body['logPaths'];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid('logPaths', 'must be an array of strings');
  if (value.length > 20) throw invalid('logPaths', `must have at most 20 entries, got ${value.length}`);
  return value.map((entry, i) => {
    const field = `logPaths[${i}]`;
    if (typeof entry !== 'string') throw invalid(field, 'must be a string');
    if ([...entry].length > 260) throw invalid(field, 'must be at most 260 characters');
    if (!/^c:\\/i.test(entry)) throw invalid(field, 'must be a fully-qualified path under C:\\');
    if (/[<>"|?\u0000-\u001f]/.test(entry)) throw invalid(field, 'must not contain < > " | ? or control characters');
    return entry;
  });
}

function streamProtocolField(body: JsonObject): string | undefined {
  const value = optionalString(body, 'streamProtocol', { max: 16 });
  if (value === undefined) return undefined;
  if (!(STREAM_PROTOCOLS as readonly string[]).includes(value)) throw invalid('streamProtocol', `must be one of ${STREAM_PROTOCOLS.join(', ')}`);
  return value;
}

function installerUrlField(body: JsonObject, allowFileUrls: boolean): string {
  const value = requiredString(body, 'installerUrl', { min: 1, max: 2048, notBlank: true });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('installerUrl', 'must be an absolute http or https URL');
  }
  if (url.protocol === 'file:' && !allowFileUrls) throw invalid('installerUrl', 'file URLs are only accepted when private installer hosts are allowed');
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) throw invalid('installerUrl', 'must be an absolute http or https URL');
  return value;
}

export type CreateApplicationInput = Omit<NewApplication, 'accountId' | 'sessionCapacity'>;

export function validateCreate(body: JsonObject, opts: { allowFileUrls: boolean }): CreateApplicationInput {
  const name = requiredString(body, 'name', { min: 1, max: 100, notBlank: true });
  const description = optionalString(body, 'description', { max: 256, allowControl: true });
  const installerUrl = installerUrlField(body, opts.allowFileUrls);
  const installerParameters = requiredString(body, 'installerParameters', { max: 1024 });
  const launch = launchFields(body, true);
  const logBucket = logBucketField(body);
  const logPaths = logPathsField(body) ?? [];
  if (logPaths.length > 0 && !logBucket) throw invalid('logBucket', 'is required when logPaths is not empty');
  return {
    name,
    description: description === undefined || description === '' ? null : description,
    installerUrl,
    installerParameters,
    launchPath: launch.launchPath!,
    launchParameters: launch.launchParameters ?? '',
    logBucket: logBucket === undefined || logBucket === '' ? null : logBucket,
    logPaths,
    streamProtocol: streamProtocolField(body) ?? 'terminal',
  };
}

export function validateUpdate(body: JsonObject, current: { logBucket: string | null; logPaths: readonly string[] }): ApplicationPatch {
  const patch: ApplicationPatch = {};
  const name = optionalString(body, 'name', { min: 1, max: 100, notBlank: true });
  if (name !== undefined) patch.name = name;
  const description = optionalString(body, 'description', { max: 256, allowControl: true });
  if (description !== undefined) patch.description = description === '' ? null : description;
  const launch = launchFields(body, false);
  if (launch.launchPath !== undefined) patch.launchPath = launch.launchPath;
  if (launch.launchParameters !== undefined) patch.launchParameters = launch.launchParameters;
  const logBucket = logBucketField(body);
  if (logBucket !== undefined) patch.logBucket = logBucket === '' ? null : logBucket;
  const logPaths = logPathsField(body);
  if (logPaths !== undefined) patch.logPaths = logPaths;
  const bucketAfter = patch.logBucket !== undefined ? patch.logBucket : current.logBucket;
  // The result must keep the create invariant, whichever of the two fields this update touches.
  const pathsAfter = logPaths ?? current.logPaths;
  if (pathsAfter.length > 0 && !bucketAfter) throw invalid('logBucket', 'is required when logPaths is not empty');
  const streamProtocol = streamProtocolField(body);
  if (streamProtocol !== undefined) patch.streamProtocol = streamProtocol;
  return patch;
}

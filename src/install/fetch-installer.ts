import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { isForbiddenAddress } from './address-policy.js';
import { BuildFailure, describeError } from './build-failure.js';

/**
 * Copying: download the installer into the scratch folder, hashing as it streams.
 * Uses node:http/https rather than fetch so the socket goes to exactly the address that was
 * vetted (a pinned `lookup`), which closes the DNS-rebinding gap between check and connect.
 */

export interface FetchInstallerOptions {
  url: string;
  destinationFile: string;
  allowPrivateHosts: boolean;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  expectedSha256?: string;
  signal?: AbortSignal;
  /** Resolves a host name to every address; replaceable in tests. Defaults to dns.lookup(all). */
  resolveHost?: (hostname: string) => Promise<LookupAddress[]>;
}

export interface FetchedInstaller {
  file: string;
  bytes: number;
  sha256: string;
  /** The last path segment of the installer URL, safe as a file name ('installer' if none). */
  fileName: string;
}

const STEP = 'Copying';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const SOLUTION_REACHABLE = 'Check that the installer URL is correct and reachable from the appstreamd server, then create the application again.';
const SOLUTION_PRIVATE =
  'Host the installer on a public server, or ask the operator to allow private installer hosts (APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS=true).';

/** A URL fit for an error record: no credentials, no query string (presigned URLs carry secrets there). */
export function redactUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(unparseable URL)';
  }
  if (parsed.protocol === 'file:') return `file://${parsed.pathname}`;
  const suffix = parsed.search ? ' (query omitted)' : '';
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${suffix}`;
}

/** The installer's own file name: the URL's last path segment, or 'installer'. */
export function installerFileName(url: string): string {
  let segment = '';
  try {
    const parts = new URL(url).pathname.split('/');
    segment = decodeURIComponent(parts[parts.length - 1] ?? '');
  } catch {
    segment = '';
  }
  if (segment === '' || segment === '.' || segment === '..' || /[/\0]/.test(segment) || segment.length > 200) {
    return 'installer';
  }
  return segment;
}

async function systemResolveHost(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses);
    });
  });
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Resolves the URL's host and returns the address to connect to. Refuses when ANY resolved
 * address is not public (a host with one public and one private address is still refused),
 * unless private hosts are allowed.
 */
export async function resolveVettedAddress(
  url: URL,
  allowPrivateHosts: boolean,
  resolveHost: (hostname: string) => Promise<LookupAddress[]> = systemResolveHost,
): Promise<LookupAddress> {
  const host = hostOf(url);
  let addresses: LookupAddress[];
  const literalFamily = isIP(host);
  if (literalFamily !== 0) {
    addresses = [{ address: host, family: literalFamily }];
  } else {
    try {
      addresses = await resolveHost(host);
    } catch (error) {
      throw new BuildFailure(STEP, `The installer host ${host} could not be resolved (${describeError(error)}).`, SOLUTION_REACHABLE);
    }
  }
  const first = addresses[0];
  if (!first) {
    throw new BuildFailure(STEP, `The installer host ${host} has no addresses.`, SOLUTION_REACHABLE);
  }
  if (!allowPrivateHosts) {
    const refused = addresses.find((a) => isForbiddenAddress(a.address));
    if (refused) {
      throw new BuildFailure(
        STEP,
        `The installer host ${host} resolves to ${refused.address}, a loopback, private, link-local or otherwise non-public address; downloads from it are not allowed.`,
        SOLUTION_PRIVATE,
      );
    }
  }
  return first;
}

/**
 * The URL of the next hop of a redirect, or a refusal: missing Location, a scheme other than
 * http/https, or more than `maxRedirects` hops. The new host is vetted again by the caller.
 */
export function nextHopUrl(current: URL, location: string | undefined, redirectsSoFar: number, maxRedirects: number): URL {
  if (redirectsSoFar >= maxRedirects) {
    throw new BuildFailure(STEP, `The installer URL redirected more than ${maxRedirects} times.`, 'Use the final URL of the installer directly.');
  }
  if (!location) {
    throw new BuildFailure(STEP, `The installer server sent a redirect without a Location for ${redactUrl(current)}.`, SOLUTION_REACHABLE);
  }
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new BuildFailure(STEP, `The installer server redirected to an invalid URL from ${redactUrl(current)}.`, SOLUTION_REACHABLE);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new BuildFailure(
      STEP,
      `The installer server redirected to a ${next.protocol} URL, which is not followed.`,
      'Redirects are only followed to http and https URLs; use the final URL of the installer directly.',
    );
  }
  return next;
}

/** A lookup that always answers with the vetted address, whatever it is asked. */
function pinnedLookup(vetted: LookupAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [vetted]);
    else callback(null, vetted.address, vetted.family);
  };
}

function requestOnce(url: URL, vetted: LookupAddress, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const options: http.RequestOptions = {
      method: 'GET',
      agent: false,
      lookup: pinnedLookup(vetted),
      signal,
      headers: { 'user-agent': 'appstreamd-installer-fetch', 'accept-encoding': 'identity' },
    };
    const request = url.protocol === 'https:' ? https.request(url, options, resolve) : http.request(url, options, resolve);
    request.on('error', reject);
    request.end();
  });
}

class TooLargeError extends Error {}

function tooLarge(maxBytes: number): BuildFailure {
  return new BuildFailure(
    STEP,
    `The installer is larger than the limit of ${maxBytes} bytes.`,
    'Use a smaller package, or ask the operator to raise APPSTREAMD_MAX_INSTALLER_BYTES.',
  );
}

/** Streams `source` to `file`, counting real bytes against the cap and hashing as it goes. */
async function streamToFile(source: Readable, file: string, maxBytes: number, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        callback(new TooLargeError());
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(source, meter, createWriteStream(file, { mode: 0o600 }), { signal });
  return { bytes, sha256: hash.digest('hex') };
}

/** Rejects as soon as `signal` aborts, so a hung DNS lookup cannot outlive the timeout. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

async function downloadHttp(start: URL, options: FetchInstallerOptions, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  let current = start;
  for (let redirects = 0; ; ) {
    const vetted = await raceAbort(resolveVettedAddress(current, options.allowPrivateHosts, options.resolveHost), signal);
    let response: IncomingMessage;
    try {
      response = await requestOnce(current, vetted, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new BuildFailure(STEP, `Could not download the installer from ${redactUrl(current)}: ${describeError(error)}.`, SOLUTION_REACHABLE);
    }
    const status = response.statusCode ?? 0;
    if (REDIRECT_STATUSES.has(status)) {
      response.resume();
      current = nextHopUrl(current, response.headers.location, redirects, options.maxRedirects);
      redirects += 1;
      continue;
    }
    if (status < 200 || status > 299) {
      response.resume();
      throw new BuildFailure(
        STEP,
        `The installer server answered HTTP ${status} for ${redactUrl(current)}.`,
        'Check the installer URL (a presigned URL may have expired) and create the application again.',
      );
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      response.destroy();
      throw tooLarge(options.maxBytes);
    }
    return streamToFile(response, options.destinationFile, options.maxBytes, signal);
  }
}

async function copyLocalFile(url: URL, options: FetchInstallerOptions, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (error) {
    throw new BuildFailure(STEP, `The installer URL ${redactUrl(url)} is not a usable file URL (${describeError(error)}).`, 'Use a file:///absolute/path URL.');
  }
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new BuildFailure(STEP, `The installer file ${path} cannot be read (${describeError(error)}).`, 'Check the path of the installer file on the server.');
  }
  if (!info.isFile()) {
    throw new BuildFailure(STEP, `The installer file ${path} is not a regular file.`, 'Point installerUrl at a package file.');
  }
  if (info.size > options.maxBytes) throw tooLarge(options.maxBytes);
  return streamToFile(createReadStream(path), options.destinationFile, options.maxBytes, signal);
}

/** Downloads (or, for file: URLs when allowed, copies) the installer into `destinationFile`. */
export async function fetchInstaller(options: FetchInstallerOptions): Promise<FetchedInstaller> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new BuildFailure(STEP, 'The installer URL is not a valid URL.', 'Give an absolute http or https URL.');
  }
  const isFile = url.protocol === 'file:';
  if (isFile && !options.allowPrivateHosts) {
    throw new BuildFailure(STEP, 'file: installer URLs are not allowed on this server.', SOLUTION_PRIVATE);
  }
  if (!isFile && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BuildFailure(
      STEP,
      `The installer URL scheme ${url.protocol} is not supported.`,
      'Use an http or https URL (file URLs only where the operator allows private installer hosts).',
    );
  }

  // One controller for the whole download: the overall timeout and the caller's cancel both end it.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('installer download timed out'));
  }, options.timeoutMs);
  const onCancel = (): void => controller.abort(new Error('build cancelled'));
  options.signal?.addEventListener('abort', onCancel, { once: true });
  if (options.signal?.aborted) onCancel();

  try {
    const { bytes, sha256 } = isFile
      ? await copyLocalFile(url, options, controller.signal)
      : await downloadHttp(url, options, controller.signal);
    const expected = options.expectedSha256?.trim().toLowerCase();
    if (expected && expected !== sha256) {
      throw new BuildFailure(
        STEP,
        `The installer's SHA-256 is ${sha256}, but ${expected} was expected.`,
        'Check that the installer URL points at the intended file and that installerSha256 is right.',
      );
    }
    return { file: options.destinationFile, bytes, sha256, fileName: installerFileName(options.url) };
  } catch (error) {
    await rm(options.destinationFile, { force: true }).catch(() => undefined);
    if (error instanceof BuildFailure) throw error;
    if (error instanceof TooLargeError) throw tooLarge(options.maxBytes);
    if (timedOut) {
      throw new BuildFailure(
        STEP,
        `The installer download did not finish within ${Math.round(options.timeoutMs / 1000)} s (${redactUrl(url)}).`,
        'Check that the installer server is responsive, or use a smaller package.',
      );
    }
    if (options.signal?.aborted) {
      throw new BuildFailure(STEP, 'The build was cancelled.', 'Start the build again if it is still wanted.');
    }
    throw new BuildFailure(STEP, `Could not download the installer from ${redactUrl(url)}: ${describeError(error)}.`, SOLUTION_REACHABLE);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCancel);
  }
}

/**
 * A small HAL client whose requests are signed by AWS's own @smithy/signature-v4 (an
 * independent signer), sent over real loopback HTTP with node:http.
 */
import http from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { assertAwsError } from './assert-error.js';

export interface Credentials { accessKeyId: string; secretAccessKey: string }

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience
}

/** A response from its parts; `json` is the parsed body when it is JSON. */
export function toRawResponse(status: number, headers: http.IncomingHttpHeaders, text: string): RawResponse {
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/** Reads a whole node:http response. */
export function readResponse(res: http.IncomingMessage): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => resolve(toRawResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
  });
}

export interface PreparedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface SignOptions {
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  signingDate?: Date;
  region?: string;
  service?: string;
  sessionToken?: string;
}

/** Signs with @smithy/signature-v4 and returns the request without sending it (tests may alter it). */
export async function signRequest(baseUrl: string, credentials: Credentials, opts: SignOptions): Promise<PreparedRequest> {
  const url = new URL(baseUrl);
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { host: url.host, ...(opts.headers ?? {}) };
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  const [pathname, query] = opts.path.split('?') as [string, string | undefined];
  const queryObj: Record<string, string> = {};
  if (query) for (const [k, v] of new URLSearchParams(query)) queryObj[k] = v;
  const signer = new SignatureV4({
    credentials: { ...credentials, sessionToken: opts.sessionToken },
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'appstream',
    sha256: Sha256,
  });
  const request = new HttpRequest({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: pathname, query: queryObj, headers, body: opts.body });
  const signed = await signer.sign(request, { signingDate: opts.signingDate });
  return { method, path: opts.path, headers: { ...(signed.headers as Record<string, string>) }, body: opts.body };
}

export interface SendOptions {
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Sign for this time instead of now (skew tests). */
  signingDate?: Date;
  region?: string;
  service?: string;
  unsigned?: boolean;
}

export function rawRequest(baseUrl: string, opts: { method: string; path: string; headers?: Record<string, string | string[]>; body?: Buffer | string }): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: opts.method, path: opts.path, headers: opts.headers, agent: false }, (res) => {
      readResponse(res).then((response) => {
        // Every error any test receives is checked for the AWS shape and headers, whatever
        // else the test asserts about it (HEAD answers carry no body).
        if (response.status >= 400 && opts.method !== 'HEAD') {
          const code = String((response.json as { __type?: unknown } | undefined)?.__type ?? '').split('#').pop() ?? '';
          assertAwsError(response, response.status, code);
        }
        return response;
      }).then(resolve, reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export class SignedClient {
  constructor(readonly baseUrl: string, readonly credentials: Credentials, readonly region = 'us-east-1') {}

  async send(opts: SendOptions): Promise<RawResponse> {
    const method = opts.method ?? 'GET';
    const body = opts.body ?? (method !== 'GET' && method !== 'DELETE' ? '' : undefined);
    const headers: Record<string, string> = { accept: 'application/hal+json', ...(opts.headers ?? {}) };
    if (body !== undefined && Buffer.byteLength(body) > 0 && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    if (opts.unsigned) {
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      return rawRequest(this.baseUrl, { method, path: opts.path, headers: { host: new URL(this.baseUrl).host, ...headers }, body });
    }
    const prepared = await signRequest(this.baseUrl, this.credentials, { ...opts, method, body, headers, region: opts.region ?? this.region });
    return rawRequest(this.baseUrl, prepared);
  }

  get(path: string) {
    return this.send({ path });
  }

  postJson(path: string, value: unknown) {
    return this.send({ method: 'POST', path, body: JSON.stringify(value) });
  }

  putJson(path: string, value: unknown) {
    return this.send({ method: 'PUT', path, body: JSON.stringify(value) });
  }
}

/** Follows HAL links from the root: `rel(resource, 'application:create')` etc. */
export function href(resource: any, rel: string, vars: Record<string, string> = {}): string {
  const l = resource?._links?.[rel];
  if (!l || typeof l.href !== 'string') throw new Error(`no link ${rel} in ${JSON.stringify(resource?._links)}`);
  return l.href.replace(/\{(\w+)\}/g, (_m: string, name: string) => {
    if (!(name in vars)) throw new Error(`template variable ${name} missing for ${rel}`);
    return encodeURIComponent(vars[name]!);
  });
}

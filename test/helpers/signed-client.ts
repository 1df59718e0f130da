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
    const req = http.request(
      { host: url.hostname, port: url.port, method: opts.method, path: opts.path, headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          const response: RawResponse = { status: res.statusCode ?? 0, headers: res.headers, text, json };
          // Every error any test receives is checked for the AWS shape and headers, whatever
          // else the test asserts about it (HEAD answers carry no body).
          if (response.status >= 400 && opts.method !== 'HEAD') {
            try {
              const code = String((json as { __type?: unknown } | undefined)?.__type ?? '').split('#').pop() ?? '';
              assertAwsError(response, response.status, code);
            } catch (err) {
              reject(err);
              return;
            }
          }
          resolve(response);
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export class SignedClient {
  constructor(readonly baseUrl: string, readonly credentials: Credentials, readonly region = 'us-east-1') {}

  async send(opts: SendOptions): Promise<RawResponse> {
    const url = new URL(this.baseUrl);
    const [pathname, query] = opts.path.split('?') as [string, string | undefined];
    const body = opts.body ?? (opts.method && opts.method !== 'GET' && opts.method !== 'DELETE' ? '' : undefined);
    const headers: Record<string, string> = { host: url.host, accept: 'application/hal+json', ...(opts.headers ?? {}) };
    if (body !== undefined) {
      headers['content-length'] = String(Buffer.byteLength(body));
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type') && Buffer.byteLength(body) > 0) headers['content-type'] = 'application/json';
    }
    const queryObj: Record<string, string> = {};
    if (query) for (const [k, v] of new URLSearchParams(query)) queryObj[k] = v;
    const request = new HttpRequest({ method: opts.method ?? 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: pathname, query: queryObj, headers, body });
    let finalHeaders = headers;
    if (!opts.unsigned) {
      const signer = new SignatureV4({ credentials: this.credentials, region: opts.region ?? this.region, service: opts.service ?? 'appstream', sha256: Sha256 });
      const signed = await signer.sign(request, { signingDate: opts.signingDate });
      finalHeaders = signed.headers as Record<string, string>;
    }
    return rawRequest(this.baseUrl, { method: opts.method ?? 'GET', path: opts.path, headers: finalHeaders, body });
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

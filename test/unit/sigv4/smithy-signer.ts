/**
 * Signs requests with the AWS SDK's own signer (@smithy/signature-v4 + @aws-crypto/sha256-js),
 * an implementation independent of ours, and returns them in the shape the verifier
 * receives from Node (wire URL, rawHeaders, body bytes).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SignedRequest } from '../../../src/auth/sigv4/verify.js';

export interface SigningInput {
  readonly method: string;
  /** Wire path, already percent-encoded as an HTTP client would send it. */
  readonly path: string;
  /** Decoded query parameters; encoded on the wire the way the SDK does. */
  readonly query?: Record<string, string | string[]>;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  readonly date: Date;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly region: string;
  readonly service: string;
  /** Whether the signer adds and signs x-amz-content-sha256 (SDK default true). */
  readonly applyChecksum?: boolean;
}

/** The SDK's query encoding: encodeURIComponent plus the characters it leaves alone. */
export function sdkEscape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function wireQuery(query: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${sdkEscape(key)}=${sdkEscape(v)}`);
  }
  return parts.join('&');
}

export async function signWithSmithy(input: SigningInput): Promise<SignedRequest> {
  const body = input.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = { host: 'example.amazonaws.com', ...(input.headers ?? {}) };
  const request = new HttpRequest({
    method: input.method,
    protocol: 'https:',
    hostname: 'example.amazonaws.com',
    path: input.path,
    query: input.query ?? {},
    headers,
    body: body.length > 0 ? new Uint8Array(body) : undefined,
  });
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: input.accessKeyId,
      secretAccessKey: input.secretAccessKey,
      ...(input.sessionToken !== undefined ? { sessionToken: input.sessionToken } : {}),
    },
    region: input.region,
    service: input.service,
    sha256: Sha256,
    applyChecksum: input.applyChecksum ?? true,
  });
  const signed = await signer.sign(request, { signingDate: input.date });
  const rawHeaders: string[] = [];
  for (const [name, value] of Object.entries(signed.headers)) rawHeaders.push(name, String(value));
  const query = wireQuery(input.query ?? {});
  return {
    method: input.method,
    url: query.length > 0 ? `${input.path}?${query}` : input.path,
    rawHeaders,
    body,
  };
}

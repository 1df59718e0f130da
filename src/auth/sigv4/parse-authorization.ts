import { ApiError } from '../../errors/api-error.js';
import { MAX_AUTHORIZATION_LENGTH, SIGV4_ALGORITHM } from './constants.js';

/** `<yyyymmdd>/<region>/<service>/<terminator>` as sent in `Credential=`. */
export interface CredentialScope {
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
}

export interface ParsedAuthorization {
  readonly algorithm: typeof SIGV4_ALGORITHM;
  readonly accessKeyId: string;
  readonly scope: CredentialScope;
  /** The scope exactly as sent; it is the third line of the string to sign. */
  readonly scopeString: string;
  /** Header names from `SignedHeaders=`, in the order sent (all lower-case, distinct). */
  readonly signedHeaders: readonly string[];
  /** The client's signature, 64 lower-case hex digits. */
  readonly signature: string;
}

type ComponentName = 'Credential' | 'SignedHeaders' | 'Signature';
const COMPONENT_NAMES: readonly ComponentName[] = ['Credential', 'SignedHeaders', 'Signature'];

// SDKs write `, ` between components; some write `,` or plain spaces. Accept any of these.
const SEPARATOR = /\s*,\s*|\s+/;
const COMPONENT = /^([A-Za-z]+)=(.+)$/;
// Control characters never appear in a header Node accepts; refuse them anyway.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** RFC 7230 token characters, lower-case letters only (SignedHeaders must be lower-case). */
const SIGNED_HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const SCOPE_DATE = /^\d{4}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/;
const SIGNATURE = /^[0-9a-fA-F]{64}$/;

function incomplete(message: string): ApiError {
  return new ApiError('IncompleteSignatureException', message);
}

/** A short, printable rendering of client input for error messages. */
function quote(value: string): string {
  const shortened = value.length > 64 ? `${value.slice(0, 64)}...` : value;
  return JSON.stringify(shortened);
}

/**
 * Parses an `Authorization` header value of the SigV4 header form:
 * `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=a;b, Signature=<64 hex>`.
 * Only the shape is checked here; whether the scope names the right date, region
 * and service is the verifier's job. Anything malformed throws
 * `IncompleteSignatureException`; nothing else is ever thrown.
 */
export function parseAuthorization(headerValue: string): ParsedAuthorization {
  if (headerValue.length > MAX_AUTHORIZATION_LENGTH) {
    throw incomplete(`Authorization header is longer than ${MAX_AUTHORIZATION_LENGTH} characters.`);
  }
  if (CONTROL_CHARACTER.test(headerValue)) {
    throw incomplete('Authorization header contains control characters.');
  }
  const value = headerValue.trim();
  if (value.length === 0) throw incomplete('Authorization header is empty.');

  const firstSpace = value.search(/\s/);
  const algorithm = firstSpace === -1 ? value : value.slice(0, firstSpace);
  if (algorithm !== SIGV4_ALGORITHM) {
    throw incomplete(`Unsupported authorization algorithm ${quote(algorithm)}; only ${SIGV4_ALGORITHM} is accepted.`);
  }
  const rest = firstSpace === -1 ? '' : value.slice(firstSpace).trim();

  const components = new Map<ComponentName, string>();
  if (rest.length > 0) {
    for (const part of rest.split(SEPARATOR)) {
      if (part.length === 0) throw incomplete('Authorization header has an empty component (stray comma).');
      const match = COMPONENT.exec(part);
      if (match === null) {
        throw incomplete(`Authorization header component ${quote(part)} is not of the form Name=Value.`);
      }
      const name = match[1];
      if (!isComponentName(name)) {
        throw incomplete(`Authorization header has an unexpected component ${quote(name)}.`);
      }
      if (components.has(name)) throw incomplete(`Authorization header repeats the '${name}' component.`);
      components.set(name, match[2]);
    }
  }
  const missing = COMPONENT_NAMES.filter((name) => !components.has(name));
  if (missing.length > 0) {
    throw incomplete(missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' '));
  }

  const credential = parseCredential(components.get('Credential') as string);
  const signedHeaders = parseSignedHeaders(components.get('SignedHeaders') as string);
  const signature = components.get('Signature') as string;
  if (!SIGNATURE.test(signature)) {
    throw incomplete('Signature must be 64 hexadecimal digits.');
  }
  return {
    algorithm: SIGV4_ALGORITHM,
    accessKeyId: credential.accessKeyId,
    scope: credential.scope,
    scopeString: credential.scopeString,
    signedHeaders,
    signature: signature.toLowerCase(),
  };
}

function isComponentName(name: string): name is ComponentName {
  return (COMPONENT_NAMES as readonly string[]).includes(name);
}

function parseCredential(credential: string): { accessKeyId: string; scope: CredentialScope; scopeString: string } {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts.some((part) => part.length === 0)) {
    throw incomplete(
      `Credential ${quote(credential)} is not of the form <AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request.`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts;
  if (!SCOPE_DATE.test(date)) {
    throw incomplete(`Credential scope date ${quote(date)} is not of the form yyyymmdd.`);
  }
  return {
    accessKeyId,
    scope: { date, region, service, terminator },
    scopeString: `${date}/${region}/${service}/${terminator}`,
  };
}

function parseSignedHeaders(list: string): string[] {
  const names = list.split(';');
  const seen = new Set<string>();
  for (const name of names) {
    if (name.length === 0) throw incomplete('SignedHeaders has an empty header name.');
    if (!SIGNED_HEADER_NAME.test(name)) {
      throw incomplete(`SignedHeaders entry ${quote(name)} is not a lower-case header name.`);
    }
    if (seen.has(name)) throw incomplete(`SignedHeaders lists ${quote(name)} twice.`);
    seen.add(name);
  }
  return names;
}

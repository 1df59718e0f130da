/** The authentication step: SigV4 over the raw request, producing the caller's account. */
import type { FastifyRequest } from 'fastify';
import { verifySigV4, type StoredCredential, type VerifiedIdentity } from '../auth/sigv4/verify.js';

export interface Authenticator {
  authenticate(request: FastifyRequest, body: Buffer): Promise<VerifiedIdentity>;
}

export interface AuthenticatorDeps {
  region: string;
  now: () => Date;
  lookupCredential(accessKeyId: string): Promise<StoredCredential | undefined>;
}

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  return {
    authenticate(request, body) {
      return verifySigV4(
        { method: request.raw.method ?? 'GET', url: request.raw.url ?? '/', rawHeaders: request.raw.rawHeaders, body },
        { region: deps.region, service: 'appstream', now: deps.now, lookupCredential: deps.lookupCredential },
      );
    },
  };
}

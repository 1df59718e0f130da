import type { TokenIssuer } from '../../sessions/entitlement-tokens.js';
import type { ApplicationsDeps } from '../applications/deps.js';

/** Kills a session's program (if any); owned by the session supervisor. */
export interface SessionControl {
  terminated(sessionId: string): void;
}

export interface SessionsDeps extends ApplicationsDeps {
  tokens: TokenIssuer;
  publicUrl(): string;
  control: SessionControl;
}

export function entitlementUrl(deps: SessionsDeps, sessionId: string): string {
  return `${deps.publicUrl()}/entitlements/${deps.tokens.entitlementToken(sessionId)}`;
}

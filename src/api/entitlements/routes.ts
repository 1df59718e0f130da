/**
 * The unsigned client-facing entitlement endpoint (data-plane.md "Entitlement and
 * redemption"). GET never redeems (link scanners must not burn it); POST redeems once.
 */
import { ApiError } from '../../errors/api-error.js';
import { requiredString } from '../validate.js';
import { routePatterns } from '../../hal/paths.js';
import type { ActionResult, ResourceRoute } from '../../http/types.js';
import { CONNECT_TOKEN_TTL_MS, sha256Hex, type TokenIssuer } from '../../sessions/entitlement-tokens.js';
import type { ApplicationsRepo } from '../../store/applications-repo.js';
import type { SessionRow, SessionsRepo } from '../../store/sessions-repo.js';

/** Starts the program of a freshly redeemed session; owned by the session supervisor. */
export interface SessionLauncher {
  launch(session: SessionRow): Promise<void>;
  /** Whether the session's program is still running here (resume is allowed). */
  isLive(sessionId: string): boolean;
}

export interface EntitlementsDeps {
  sessions: SessionsRepo;
  applications: ApplicationsRepo;
  tokens: TokenIssuer;
  publicUrl(): string;
  /** Public URL of the instance running a session's program (its stream lives there). */
  instanceUrl(instanceId: string | null): Promise<string>;
  instanceId: string;
  launcher: SessionLauncher;
  /** The viewer page served to browsers; a plain explanatory page when absent. */
  viewerHtml?(): string;
  now?: () => Date;
}

const TOKEN_RE = /^[A-Za-z0-9_-]{16,128}$/;

function wantsJson(accept: string | string[] | undefined): boolean {
  const value = Array.isArray(accept) ? accept.join(',') : accept ?? '';
  return /application\/(json|hal\+json)/i.test(value) && !/text\/html/i.test(value);
}

const INFO_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AppStream session</title></head>
<body><h1>AppStream session</h1><p>This is an entitlement link for an application streaming session.
Open it in a browser with the appstreamd viewer, or redeem it with <code>POST</code> on this URL.</p></body></html>`;

export function streamProtocolName(streamProtocol: string): 'terminal' | 'rfb' {
  return streamProtocol === 'x11' ? 'rfb' : 'terminal';
}

export function streamUrlFor(publicUrl: string, sessionId: string): string {
  return `${publicUrl.replace(/^http/, 'ws')}/stream/${sessionId}`;
}

export function entitlementsRoutes(deps: EntitlementsDeps): ResourceRoute[] {
  const now = deps.now ?? (() => new Date());
  /** The JSON a client needs to attach: where the stream is, and a single-use connect token. */
  const connectGrant = async (session: SessionRow, ownerUrl: string, secrets: Record<string, string>): Promise<ActionResult> => {
    const app = await deps.applications.getInternal(session.application_id);
    return {
      status: 200,
      contentType: 'application/json',
      headers: { 'Cache-Control': 'no-store' },
      body: { sessionId: session.id, protocol: streamProtocolName(app?.stream_protocol ?? 'terminal'), streamUrl: streamUrlFor(ownerUrl, session.id), ...secrets },
    };
  };
  const lookupHash = (token: string | undefined): string => {
    if (!token || !TOKEN_RE.test(token)) throw new ApiError('EntitlementNotFoundException');
    return sha256Hex(token);
  };
  return [
    {
      path: routePatterns.entitlement,
      signed: false,
      operations: {
        GET: {
          action: 'ViewEntitlement',
          async handle(req): Promise<ActionResult> {
            const json = wantsJson(req.headers['accept']);
            if (!json) {
              return { status: 200, contentType: 'text/html; charset=utf-8', body: deps.viewerHtml ? deps.viewerHtml() : INFO_PAGE, headers: { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' } };
            }
            const hash = lookupHash(req.params['token']);
            const session = await deps.sessions.findByEntitlementHash(hash);
            if (!session) throw new ApiError('EntitlementNotFoundException');
            await deps.sessions.expireDue(session.application_id);
            const current = (await deps.sessions.getInternal(session.id)) ?? session;
            if (current.state !== 'Entitled') throw new ApiError('EntitlementExpiredException');
            return {
              status: 200,
              contentType: 'application/json',
              headers: { 'Cache-Control': 'no-store' },
              body: { state: current.state, expiresAt: current.entitlement_expires_at, redeem: 'POST this URL to redeem the entitlement.' },
            };
          },
        },
        POST: {
          action: 'RedeemEntitlement',
          async handle(req): Promise<ActionResult> {
            const hash = lookupHash(req.params['token']);
            const connectToken = deps.tokens.randomSecret();
            const resumeSecret = deps.tokens.randomSecret();
            const connectTokenExpiresAt = new Date(now().getTime() + CONNECT_TOKEN_TTL_MS).toISOString();
            const outcome = await deps.sessions.redeem(hash, {
              connectTokenHash: sha256Hex(connectToken),
              connectTokenExpiresAt,
              resumeSecretHash: sha256Hex(resumeSecret),
              instanceId: deps.instanceId,
            });
            switch (outcome.kind) {
              case 'not-found':
                throw new ApiError('EntitlementNotFoundException');
              case 'expired':
                throw new ApiError('EntitlementExpiredException');
              case 'conflict':
                throw new ApiError('ConflictException', `The application is in state ${outcome.state}; sessions can only start when it is Active.`);
              case 'no-capacity':
                throw new ApiError('NoAvailableInstanceException');
              case 'ok':
                break;
            }
            await deps.launcher.launch(outcome.session);
            return connectGrant(outcome.session, deps.publicUrl(), { connectToken, connectTokenExpiresAt, resumeSecret });
          },
        },
      },
    },
    {
      path: `${routePatterns.entitlement}/resume`,
      signed: false,
      operations: {
        POST: {
          action: 'ResumeSession',
          body: 'required',
          async handle(req): Promise<ActionResult> {
            const hash = lookupHash(req.params['token']);
            const resumeSecret = requiredString(req.body, 'resumeSecret', { max: 128 });
            const session = await deps.sessions.findByEntitlementHash(hash);
            if (!session) throw new ApiError('EntitlementNotFoundException');
            // The program may run on another instance; only the local one can be checked here.
            const localProgramGone = session.instance_id === deps.instanceId && !deps.launcher.isLive(session.id);
            if (localProgramGone || (session.state !== 'Reserved' && session.state !== 'Active')) {
              throw new ApiError('EntitlementExpiredException', 'The session has ended.');
            }
            const connectToken = deps.tokens.randomSecret();
            const connectTokenExpiresAt = new Date(now().getTime() + CONNECT_TOKEN_TTL_MS).toISOString();
            if (!(await deps.sessions.issueConnectToken(session.id, sha256Hex(resumeSecret), sha256Hex(connectToken), connectTokenExpiresAt))) {
              throw new ApiError('InvalidConnectTokenException', 'The resume secret is not valid for this session.');
            }
            return connectGrant(session, await deps.instanceUrl(session.instance_id), { connectToken, connectTokenExpiresAt });
          },
        },
      },
    },
  ];
}

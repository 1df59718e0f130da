/** The concrete URI layout of §2.8. Clients must not build these; the server does, in one place. */
export const paths = {
  root: () => '/',
  applications: () => '/applications',
  applicationTemplate: () => '/applications/{application_id}',
  application: (appId: string) => `/applications/${appId}`,
  applicationStatus: (appId: string) => `/applications/${appId}/status`,
  applicationErrors: (appId: string) => `/applications/${appId}/errors`,
  applicationError: (appId: string, errorId: string) => `/applications/${appId}/errors/${errorId}`,
  sessions: (appId: string) => `/applications/${appId}/sessions`,
  sessionTemplate: (appId: string) => `/applications/${appId}/sessions/{session_id}`,
  session: (appId: string, sessionId: string) => `/applications/${appId}/sessions/${sessionId}`,
  sessionStatus: (appId: string, sessionId: string) => `/applications/${appId}/sessions/${sessionId}/status`,
  entitlement: (token: string) => `/entitlements/${token}`,
} as const;

/** fastify route patterns for the same layout. */
export const routePatterns = {
  root: '/',
  applications: '/applications',
  application: '/applications/:applicationId',
  applicationStatus: '/applications/:applicationId/status',
  applicationErrors: '/applications/:applicationId/errors',
  applicationError: '/applications/:applicationId/errors/:errorId',
  sessions: '/applications/:applicationId/sessions',
  session: '/applications/:applicationId/sessions/:sessionId',
  sessionStatus: '/applications/:applicationId/sessions/:sessionId/status',
  entitlement: '/entitlements/:token',
} as const;

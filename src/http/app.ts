/**
 * The composition root: opens the store, builds every component, and wires them into
 * the HTTP server. Nothing else constructs long-lived objects.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { applicationErrorsRoutes } from '../api/application-errors/routes.js';
import { applicationStatusRoutes } from '../api/application-status/routes.js';
import { applicationsRoutes } from '../api/applications/routes.js';
import { entitlementsRoutes } from '../api/entitlements/routes.js';
import { installStreamGateway } from '../api/stream-gateway/gateway.js';
import { installViewerAssets, viewerHtml } from '../api/viewer/assets.js';
import { healthRoutes } from '../api/health/routes.js';
import { rootRoutes } from '../api/root/routes.js';
import { sessionStatusRoutes } from '../api/session-status/routes.js';
import { sessionsRoutes } from '../api/sessions/routes.js';
import { CredentialCache } from '../auth/credential-cache.js';
import { publicBaseUrl, type Settings } from '../config/settings.js';
import { PageTokenCodec } from '../hal/page-token.js';
import { BuildRunner } from '../install/build-runner.js';
import { clearScratch } from '../install/pipeline.js';
import { InstanceRegistry } from '../sessions/instance-registry.js';
import { InstancesRepo } from '../store/instances-repo.js';
import type { RateLimits } from '../limits/rate-limiter.js';
import { openLimitStore } from '../limits/stores.js';
import { TokenIssuer } from '../sessions/entitlement-tokens.js';
import { SessionSupervisor } from '../sessions/supervisor.js';
import { createUidPool, DEFAULT_SANDBOX_LIMITS, DEFAULT_UID_LOCK_DIR, DEFAULT_UID_RANGE, probeCapabilities, type SandboxCapabilities } from '../sandbox/index.js';
import { AccountsRepo } from '../store/accounts-repo.js';
import { ApplicationsRepo } from '../store/applications-repo.js';
import { bootstrapCredentials } from '../store/credentials-file.js';
import { openStore, type StoreHandle } from '../store/database.js';
import { createSecretBox, loadOrCreateMasterKey } from '../store/secret-box.js';
import { SessionsRepo } from '../store/sessions-repo.js';
import { createAuthenticator } from './authenticate.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { buildHttpServer } from './server.js';
import type { ResourceRoute } from './types.js';

const APPSTREAMD_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export interface AppOptions {
  settings: Settings;
  logger?: Logger;
  now?: () => Date;
  /** Test-only extra routes (e.g. a route guarded by a rate limit). */
  extraRoutes?: (deps: { rateLimits: RateLimits }) => ResourceRoute[];
}

export interface App {
  http: FastifyInstance;
  store: StoreHandle;
  accounts: AccountsRepo;
  applications: ApplicationsRepo;
  sessions: SessionsRepo;
  builds: BuildRunner;
  supervisor: SessionSupervisor;
  isolation: SandboxCapabilities;
  logger: Logger;
  credentialsFile: string | null;
  metrics: Metrics;
  /** Issues entitlement tokens (tests derive a session's token to check it never reaches a log). */
  tokens: TokenIssuer;
  /** The separate metrics listener, when APPSTREAMD_METRICS_PORT is set. */
  metricsServer(): FastifyInstance | undefined;
  /** Listens on the configured host/port; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createApp(options: AppOptions): Promise<App> {
  const { settings } = options;
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? createLogger(settings.logLevel);
  const dataDir = path.resolve(settings.dataDir);
  const masterKey = loadOrCreateMasterKey(dataDir);
  // Session programs run as other uids and must reach <data>/images (read-only) and their
  // own home under <data>/sessions, but list nothing: traverse-only for others.
  chmodSync(dataDir, 0o711);
  const derive = (purpose: string) => createHmac('sha256', masterKey).update(purpose).digest();

  const store = await openStore({ dataDir, databaseUrl: settings.databaseUrl });
  const accounts = new AccountsRepo(store.db, createSecretBox(masterKey));
  const applications = new ApplicationsRepo(store.db, now);
  const sessions = new SessionsRepo(store.db, store.dialect, now);
  const credentials = new CredentialCache((id) => accounts.findActiveCredential(id));
  accounts.onRevoke = (id) => credentials.invalidate(id);
  const boot = await bootstrapCredentials(accounts, dataDir, { accessKeyId: settings.rootAccessKeyId, secretAccessKey: settings.rootSecretAccessKey });

  const instanceId = randomUUID();
  // Scratch folders are per instance, so instances sharing one data folder never clear each other's.
  const buildSettings = (owner: string) => ({
    workRoot: path.join(dataDir, 'build', owner),
    imagesRoot: path.join(dataDir, 'images'),
    allowPrivateHosts: settings.allowPrivateInstallerHosts,
    maxInstallerBytes: settings.maxInstallerBytes,
  });
  const builds = new BuildRunner(applications, buildSettings(instanceId), logger.child({ component: 'builds' }), instanceId);

  let boundUrl = '';
  const publicUrl = () => settings.publicUrl ?? boundUrl;
  const limitStore = await openLimitStore(settings);
  const rateLimits = limitStore.limits;
  const tokens = new TokenIssuer(derive('entitlement-tokens'));
  const pageTokens = new PageTokenCodec(derive('page-tokens'));
  const isolation = probeCapabilities();
  const supervisor = new SessionSupervisor(
    sessions,
    applications,
    {
      capabilities: isolation,
      // Host-wide locks so instances (or test servers) on one host never share a session uid.
      uidPool: createUidPool(DEFAULT_UID_RANGE.first, DEFAULT_UID_RANGE.last, isolation.isRoot ? DEFAULT_UID_LOCK_DIR : null),
      limits: { ...DEFAULT_SANDBOX_LIMITS },
    },
    {
      imagesRoot: path.join(dataDir, 'images'),
      sessionsRoot: path.join(dataDir, 'sessions'),
      connectTimeoutS: settings.connectTimeoutS,
      disconnectTimeoutS: settings.disconnectTimeoutS,
      idleTimeoutS: settings.idleTimeoutS,
      maxSessionS: settings.maxSessionS,
    },
    logger.child({ component: 'supervisor' }),
  );
  const launcher = supervisor;
  const control = supervisor;
  const registry = new InstanceRegistry(
    new InstancesRepo(store.db, now),
    () => sessions.instancesWithoutRow(),
    instanceId,
    settings.instanceLeaseS * 1000,
    store.dialect === 'sqlite',
    async (lostId, why) => {
      await supervisor.endSessionsOf(lostId, why === 'previous-process' ? 'SERVER_RESTART' : 'INSTANCE_LOST');
      await clearScratch(buildSettings(lostId));
      await builds.recover(await registry.aliveIds());
    },
    logger.child({ component: 'instances' }),
  );
  const instanceUrl = async (id: string | null) => (await registry.publicUrlOf(id)) ?? publicUrl();

  const appDeps = {
    applications,
    sessions,
    pageTokens,
    builds,
    sessionCapacity: settings.sessionCapacity,
    allowPrivateInstallerHosts: settings.allowPrivateInstallerHosts,
  };
  const sessionDeps = { ...appDeps, tokens, publicUrl, control };
  const routes: ResourceRoute[] = [
    ...rootRoutes(),
    ...applicationsRoutes(appDeps),
    ...applicationStatusRoutes(appDeps),
    ...applicationErrorsRoutes(appDeps),
    ...sessionsRoutes(sessionDeps),
    ...sessionStatusRoutes(sessionDeps),
    ...entitlementsRoutes({ sessions, applications, tokens, publicUrl, instanceUrl, instanceId, launcher, now, viewerHtml }),
    ...healthRoutes({ db: store.db, isolation, version: APPSTREAMD_VERSION, liveSessions: () => supervisor.liveCount, instanceId }),
    ...(options.extraRoutes?.({ rateLimits }) ?? []),
  ];

  const metrics = new Metrics(() => supervisor.liveCount);
  builds.onOutcome = (outcome) => metrics.builds.inc({ outcome });
  let shuttingDown = false;
  let metricsServer: FastifyInstance | undefined;
  const metricsRoute: ResourceRoute = {
    path: '/metrics',
    signed: false,
    operations: {
      GET: {
        action: 'Metrics',
        async handle() {
          return { status: 200, contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
        },
      },
    },
  };
  const health = healthRoutes({ db: store.db, isolation, version: APPSTREAMD_VERSION, liveSessions: () => supervisor.liveCount, instanceId });
  if (settings.metricsPort !== null) {
    metricsServer = await buildHttpServer({ logger, routes: [metricsRoute, ...health], rateLimits, authenticator: { authenticate: async () => ({ accessKeyId: '', accountId: '' }) } });
  } else {
    routes.push(metricsRoute);
  }

  const http = await buildHttpServer({
    logger,
    routes,
    rateLimits,
    metrics,
    shuttingDown: () => shuttingDown,
    authenticator: createAuthenticator({
      region: settings.region,
      now,
      lookupCredential: (id) => credentials.get(id),
    }),
    extend(app) {
      installViewerAssets(app);
      installStreamGateway(app, { sessions, supervisor, publicUrl });
    },
  });

  return {
    http,
    store,
    accounts,
    applications,
    sessions,
    builds,
    supervisor,
    isolation,
    logger,
    credentialsFile: boot.written,
    metrics,
    tokens,
    metricsServer: () => metricsServer,
    async listen() {
      await builds.clearOwnScratch();
      if (isolation.isolation !== 'full') logger.warn({ reasons: isolation.reasons }, 'reduced session isolation');
      await registry.join(settings.publicUrl ?? '');
      await http.listen({ host: settings.host, port: settings.port });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : settings.port;
      boundUrl = publicBaseUrl(settings, port);
      if (metricsServer) await metricsServer.listen({ host: settings.host, port: settings.metricsPort ?? 0 });
      await registry.setPublicUrl(publicUrl());
      await builds.recover(await registry.aliveIds());
      supervisor.start();
      const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
      return `http://${host}:${port}`;
    },
    async close() {
      // New requests now get 503 + Retry-After; in-flight ones finish; sessions end; stores close.
      shuttingDown = true;
      await supervisor.stopAll('SERVER_SHUTDOWN');
      await http.close();
      await metricsServer?.close();
      await builds.close();
      await registry.leave();
      await limitStore.close();
      await store.close();
    },
  };
}

/**
 * Every setting of the operator contract, parsed and validated once. Values come from
 * flags (highest), then the environment, then defaults. A bad value is a ConfigError that
 * names the variable; the CLI prints it as one line and exits.
 */
export interface Settings {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  region: string;
  publicUrl: string | null; // null: derived from the bound address once listening
  rootAccessKeyId: string | null;
  rootSecretAccessKey: string | null;
  createApplicationRate: number;
  entitleSessionRate: number;
  sessionCapacity: number;
  allowPrivateInstallerHosts: boolean;
  maxInstallerBytes: number;
  connectTimeoutS: number;
  disconnectTimeoutS: number;
  idleTimeoutS: number;
  maxSessionS: number;
  logLevel: string;
  instanceLeaseS: number;
  metricsPort: number | null;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Parser<T> = (raw: string, variable: string) => T;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const text: Parser<string> = (raw, variable) => {
  if (raw.trim() === '') throw new ConfigError(variable, 'must not be empty');
  return raw.trim();
};
const optionalText: Parser<string | null> = (raw) => (raw.trim() === '' ? null : raw.trim());

function integer(min: number, max: number): Parser<number> {
  return (raw, variable) => {
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(variable, `must be an integer between ${min} and ${max}, got "${raw}"`);
    const value = Number(raw.trim());
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(variable, `must be an integer between ${min} and ${max}, got "${raw}"`);
    }
    return value;
  };
}

const boolean: Parser<boolean> = (raw, variable) => {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(variable, `must be true, false, 1 or 0, got "${raw}"`);
};

function url(protocols: string[]): Parser<string | null> {
  return (raw, variable) => {
    const v = raw.trim();
    if (v === '') return null;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw new ConfigError(variable, `must be a URL (${protocols.join(', ')}), got a value that does not parse`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(variable, `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
    }
    return v.replace(/\/+$/, '');
  };
}

const optionalPort: Parser<number | null> = (raw, variable) => (raw.trim() === '' ? null : integer(0, 65535)(raw, variable));

const logLevel: Parser<string> = (raw, variable) => {
  const v = raw.trim().toLowerCase();
  if (!LOG_LEVELS.includes(v)) throw new ConfigError(variable, `must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return v;
};

const region: Parser<string> = (raw, variable) => {
  const v = raw.trim();
  if (!/^[a-z0-9-]{1,64}$/.test(v)) throw new ConfigError(variable, `must look like a region name such as us-east-1, got "${raw}"`);
  return v;
};

interface SettingDef<K extends keyof Settings> {
  key: K;
  env: string;
  flag: string;
  defaultValue: string;
  parse: Parser<Settings[K]>;
  description: string;
}

function def<K extends keyof Settings>(d: SettingDef<K>): SettingDef<K> {
  return d;
}

/** The settings table: the single source for parsing, `--help` and the README table. */
export const SETTING_DEFS = [
  def({ key: 'host', env: 'APPSTREAMD_HOST', flag: 'host', defaultValue: '127.0.0.1', parse: text, description: 'listen address' }),
  def({ key: 'port', env: 'APPSTREAMD_PORT', flag: 'port', defaultValue: '8080', parse: integer(0, 65535), description: 'listen port; 0 picks a free port' }),
  def({ key: 'dataDir', env: 'APPSTREAMD_DATA_DIR', flag: 'data-dir', defaultValue: './data', parse: text, description: 'SQLite file, installed applications, session folders, keys' }),
  def({ key: 'databaseUrl', env: 'APPSTREAMD_DATABASE_URL', flag: 'database-url', defaultValue: '', parse: url(['postgres:', 'postgresql:']), description: 'postgres://... puts all state in PostgreSQL' }),
  def({ key: 'redisUrl', env: 'APPSTREAMD_REDIS_URL', flag: 'redis-url', defaultValue: '', parse: url(['redis:', 'rediss:']), description: 'redis://... shares rate limits across instances' }),
  def({ key: 'region', env: 'APPSTREAMD_REGION', flag: 'region', defaultValue: 'us-east-1', parse: region, description: 'region that SigV4 credential scopes must name' }),
  def({ key: 'publicUrl', env: 'APPSTREAMD_PUBLIC_URL', flag: 'public-url', defaultValue: '', parse: url(['http:', 'https:']), description: 'base of entitlement URLs (default http://HOST:PORT)' }),
  def({ key: 'rootAccessKeyId', env: 'APPSTREAMD_ROOT_ACCESS_KEY_ID', flag: 'root-access-key-id', defaultValue: '', parse: optionalText, description: 'with the secret: account root with exactly this key' }),
  def({ key: 'rootSecretAccessKey', env: 'APPSTREAMD_ROOT_SECRET_ACCESS_KEY', flag: 'root-secret-access-key', defaultValue: '', parse: optionalText, description: 'secret of the root access key' }),
  def({ key: 'createApplicationRate', env: 'APPSTREAMD_CREATE_APPLICATION_RATE', flag: 'create-application-rate', defaultValue: '2', parse: integer(1, 1_000_000), description: 'POSTs per second per account to the applications resource' }),
  def({ key: 'entitleSessionRate', env: 'APPSTREAMD_ENTITLE_SESSION_RATE', flag: 'entitle-session-rate', defaultValue: '4', parse: integer(1, 1_000_000), description: 'POSTs per second per account to sessions resources' }),
  def({ key: 'sessionCapacity', env: 'APPSTREAMD_SESSION_CAPACITY', flag: 'session-capacity', defaultValue: '10', parse: integer(0, 100_000), description: 'default live sessions per application' }),
  def({ key: 'allowPrivateInstallerHosts', env: 'APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS', flag: 'allow-private-installer-hosts', defaultValue: 'false', parse: boolean, description: 'let installer URLs point at loopback or private addresses' }),
  def({ key: 'maxInstallerBytes', env: 'APPSTREAMD_MAX_INSTALLER_BYTES', flag: 'max-installer-bytes', defaultValue: '1073741824', parse: integer(1, Number.MAX_SAFE_INTEGER), description: 'largest installer package accepted' }),
  def({ key: 'connectTimeoutS', env: 'APPSTREAMD_CONNECT_TIMEOUT_S', flag: 'connect-timeout-s', defaultValue: '120', parse: integer(1, 86_400), description: 'a redeemed session no client attaches to within this ends' }),
  def({ key: 'disconnectTimeoutS', env: 'APPSTREAMD_DISCONNECT_TIMEOUT_S', flag: 'disconnect-timeout-s', defaultValue: '60', parse: integer(0, 86_400), description: 'how long a session waits for its client to come back' }),
  def({ key: 'idleTimeoutS', env: 'APPSTREAMD_IDLE_TIMEOUT_S', flag: 'idle-timeout-s', defaultValue: '0', parse: integer(0, 86_400 * 7), description: 'end a session with no client input for this long (0: off)' }),
  def({ key: 'maxSessionS', env: 'APPSTREAMD_MAX_SESSION_S', flag: 'max-session-s', defaultValue: '3600', parse: integer(1, 86_400 * 7), description: 'longest a session may run' }),
  def({ key: 'instanceLeaseS', env: 'APPSTREAMD_INSTANCE_LEASE_S', flag: 'instance-lease-s', defaultValue: '10', parse: integer(1, 3600), description: 'scale-out: an instance silent this long is declared lost' }),
  def({ key: 'metricsPort', env: 'APPSTREAMD_METRICS_PORT', flag: 'metrics-port', defaultValue: '', parse: optionalPort, description: 'serve /metrics and /health on this port instead of the API port (empty: API port)' }),
  def({ key: 'logLevel', env: 'APPSTREAMD_LOG_LEVEL', flag: 'log-level', defaultValue: 'info', parse: logLevel, description: 'pino log level' }),
] as const;

export type SettingFlags = Partial<Record<string, string | undefined>>;

/** Parse settings: flags (by flag name) win over the environment, which wins over defaults. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, flags: SettingFlags = {}): Settings {
  const out: Partial<Record<keyof Settings, unknown>> = {};
  for (const d of SETTING_DEFS) {
    const fromFlag = flags[d.flag];
    const raw = fromFlag ?? env[d.env] ?? d.defaultValue;
    const name = fromFlag !== undefined ? `--${d.flag}` : d.env;
    out[d.key] = (d.parse as Parser<unknown>)(raw, name);
  }
  const settings = out as Settings;
  if ((settings.rootAccessKeyId === null) !== (settings.rootSecretAccessKey === null)) {
    throw new ConfigError(
      settings.rootAccessKeyId === null ? 'APPSTREAMD_ROOT_ACCESS_KEY_ID' : 'APPSTREAMD_ROOT_SECRET_ACCESS_KEY',
      'APPSTREAMD_ROOT_ACCESS_KEY_ID and APPSTREAMD_ROOT_SECRET_ACCESS_KEY must be set together',
    );
  }
  if (settings.rootAccessKeyId !== null && !/^[A-Za-z0-9]{16,128}$/.test(settings.rootAccessKeyId)) {
    throw new ConfigError('APPSTREAMD_ROOT_ACCESS_KEY_ID', 'must be 16 to 128 letters or digits');
  }
  return settings;
}

/** The public base URL: configured, or derived from the address the server actually bound. */
export function publicBaseUrl(settings: Settings, boundPort: number): string {
  if (settings.publicUrl) return settings.publicUrl;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `http://${host}:${boundPort}`;
}

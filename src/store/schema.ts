/** Table shapes as kysely sees them. Dates are ISO 8601 strings (portable and sortable). */
import type { Generated } from 'kysely';

export interface AccountsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface AccessKeysTable {
  access_key_id: string;
  account_id: string;
  /** AES-256-GCM ciphertext of the secret (SigV4 needs the secret itself to verify). */
  secret_ciphertext: string;
  created_at: string;
  revoked_at: string | null;
}

export interface ApplicationsTable {
  id: string;
  account_id: string;
  name: string;
  description: string | null;
  installer_url: string;
  installer_parameters: string;
  launch_path: string;
  launch_parameters: string;
  log_bucket: string | null;
  log_paths: string; // JSON array
  stream_protocol: string;
  state: string;
  build_step: string | null;
  sdk_version: string | null;
  application_error_count: number;
  session_error_count: number;
  session_capacity: number;
  image_digest: string | null;
  /** Bumped each time a build starts; a build only writes its outcome if it still owns it. */
  build_generation: number;
  /** The instance running the current build (scale-out: reclaimed when its lease expires). */
  build_owner: string | null;
  created_at: string;
  last_updated_at: string;
}

export interface ApplicationErrorsTable {
  id: string;
  application_id: string;
  account_id: string;
  state: string;
  type: string;
  error_code: string;
  cause: string;
  solution: string;
  error_date: string;
  session_id: string | null;
}

export interface SessionsTable {
  id: string;
  application_id: string;
  account_id: string;
  state: string;
  /** sha256 of the entitlement token; the token itself is never stored. */
  entitlement_hash: string;
  entitlement_expires_at: string;
  opaque_data: string | null;
  error_count: number;
  start_date: string | null;
  end_date: string | null;
  end_reason: string | null;
  created_at: string;
  redeemed_at: string | null;
  connect_token_hash: string | null;
  connect_token_expires_at: string | null;
  resume_secret_hash: string | null;
  instance_id: string | null;
}

export interface InstancesTable {
  id: string;
  public_url: string;
  started_at: string;
  heartbeat_at: string;
}

export interface SchemaMetaTable {
  key: string;
  value: string;
}

export interface Database {
  accounts: AccountsTable;
  access_keys: AccessKeysTable;
  applications: ApplicationsTable;
  application_errors: ApplicationErrorsTable;
  sessions: SessionsTable;
  instances: InstancesTable;
  schema_meta: SchemaMetaTable;
}

export type { Generated };

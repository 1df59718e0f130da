/**
 * An instance dies (kill -9) in the middle of a burst of creates and entitles. Instance A is
 * `appstreamd serve` in its own process; instance B runs in this process on the same
 * PostgreSQL database, Redis and data folder, with a 2 s instance lease. Afterwards, through B:
 * every request A answered with a 2xx is visible, A's live sessions end INSTANCE_LOST within
 * the lease (+ a margin), the builds A owned are resumed and settle, A's session programs are
 * gone, and an entitlement A issued but nobody redeemed can still be redeemed on B.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { applicationsCollection, pollStatus, settled } from '../helpers/hal-flow.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { href, rawRequest, SignedClient, type RawResponse } from '../helpers/signed-client.js';
import { activeApplication, entitle, redeem } from '../helpers/streaming.js';
import { createDatabase, dropDatabase } from '../helpers/test-store.js';
import { makeTarGz, serveBytes, startServer as startPackageServer, type TestServer as PackageServer } from '../helpers/packages.js';
import { onInstance, pidsOfSessions, REDIS_URL, requireBackends, skipUnlessBackends, spawnServe, waitUntil, type ServeProcess } from './support.js';

const LEASE_S = 2;
/** How long after the kill A's sessions may take to end: the lease, B's heartbeat period, and room for a loaded machine. */
const REAP_DEADLINE_MS = LEASE_S * 1000 + 5_000;
/** Package downloads take this long, so builds are still running when A dies. */
const SLOW_DOWNLOAD_MS = 1_500;

interface Recorded {
  apps: { id: string; resource: any }[];
  sessions: { id: string; resource: any }[];
  failures: number;
}

describe('an instance killed mid-burst is taken over by the other', () => {
  let dataDir = '';
  let databaseUrl = '';
  let packages: PackageServer | undefined;
  let a: ServeProcess | undefined;
  let b: TestServer | undefined;
  const leftoverSessionIds: string[] = [];

  before(async () => {
    requireBackends();
    if (skipUnlessBackends) return; // the test skips with its message
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-scale-crash-'));
    databaseUrl = await createDatabase();
    const work = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-scale-pkg-'));
    try {
      const tgz = await makeTarGz(work, [{ path: 'bin/run.sh', content: '#!/bin/sh\nsleep 600 &\nwait\n', mode: 0o755 }]);
      const send = serveBytes(tgz);
      packages = await startPackageServer({
        '/fast.tgz': send,
        '/slow.tgz': (req, res) => {
          res.on('error', () => undefined); // the downloading instance may die meanwhile
          const timer = setTimeout(() => send(req, res), SLOW_DOWNLOAD_MS);
          req.socket.once('close', () => clearTimeout(timer));
        },
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  after(async () => {
    if (a && a.child.exitCode === null && a.child.signalCode === null) a.child.kill('SIGKILL');
    if (a) await a.exited;
    await b?.stop({ keepData: true }).catch(() => undefined);
    for (const pid of pidsOfSessions(leftoverSessionIds)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await packages?.close();
    if (databaseUrl) await dropDatabase(databaseUrl);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('2xx answers survive, sessions end INSTANCE_LOST, builds resume, programs are gone', { skip: skipUnlessBackends }, async (t) => {
    const root = { accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(20).toString('base64url') };
    const env: Record<string, string> = {
      APPSTREAMD_DATA_DIR: dataDir,
      APPSTREAMD_DATABASE_URL: databaseUrl,
      APPSTREAMD_REDIS_URL: REDIS_URL,
      APPSTREAMD_INSTANCE_LEASE_S: String(LEASE_S),
      APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
      APPSTREAMD_CREATE_APPLICATION_RATE: '1000',
      APPSTREAMD_ENTITLE_SESSION_RATE: '1000',
      APPSTREAMD_SESSION_CAPACITY: '100',
      APPSTREAMD_ROOT_ACCESS_KEY_ID: root.accessKeyId,
      APPSTREAMD_ROOT_SECRET_ACCESS_KEY: root.secretAccessKey,
      APPSTREAMD_LOG_LEVEL: 'warn',
    };
    a = await spawnServe(env);
    b = await startServer(env, { dataDir });
    const onA = new SignedClient(a.url, root);
    const onB = new SignedClient(b.url, root);
    const aHealth = await rawRequest(a.url, { method: 'GET', path: '/health' });
    assert.equal(aHealth.status, 200, aHealth.text);
    const aInstanceId = aHealth.json.instanceId as string;

    // Sessions with live programs on A: redeemed through A.
    const liveApp = await activeApplication(onA, { name: 'crash-live', installerUrl: `${packages!.origin}/fast.tgz`, launchPath: 'bin/run.sh' });
    const liveResources: any[] = [];
    for (let i = 0; i < 3; i++) {
      const session = await entitle(onA, liveApp);
      const grant = await redeem(onInstance(session.entitlementUrl as string, a.url));
      assert.equal(new URL(grant.streamUrl as string).host, new URL(a.url).host);
      liveResources.push(session);
    }
    const liveOnA = liveResources.map((s) => s.id as string);
    leftoverSessionIds.push(...liveOnA);
    await waitUntil(() => pidsOfSessions(liveOnA).length >= liveOnA.length, 10_000, () => 'the programs of the sessions redeemed on A');

    // The burst: creates (slow builds) and entitles against A, four at a time, until A dies.
    const createHref = href(await applicationsCollection(onA), 'application:create');
    const entitleHref = href(liveApp, 'session:entitle');
    const recorded: Recorded = { apps: [], sessions: [], failures: 0 };
    let aDead = false;
    let sent = 0;
    const worker = async (w: number): Promise<void> => {
      while (!aDead) {
        const n = sent++;
        let res: RawResponse;
        try {
          res = n % 2 === 0
            ? await onA.postJson(createHref, { name: `crash-${w}-${n}`, installerUrl: `${packages!.origin}/slow.tgz`, installerParameters: '', launchPath: 'bin/run.sh' })
            : await onA.postJson(entitleHref, {});
        } catch {
          recorded.failures++; // connection refused or reset: A is gone
          if (aDead) return;
          continue;
        }
        if (res.status >= 200 && res.status < 300) {
          (n % 2 === 0 ? recorded.apps : recorded.sessions).push({ id: res.json.id as string, resource: res.json });
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await waitUntil(() => recorded.apps.length >= 4 && recorded.sessions.length >= 4, 20_000, () => 'the burst to get going');
    a.child.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    aDead = true;
    const orphans = pidsOfSessions(liveOnA).length;
    await Promise.all(workers);
    t.diagnostic(`${orphans} processes of A's sessions outlived A`);
    t.diagnostic(`A answered ${recorded.apps.length} creates and ${recorded.sessions.length} entitles with 2xx before kill -9`);

    // Every 2xx from A is visible through B.
    for (const app of recorded.apps) {
      const res = await onB.get(href(app.resource, 'self'));
      assert.equal(res.status, 200, `application ${app.id} created on A: ${res.text}`);
    }
    for (const s of recorded.sessions) {
      const res = await onB.get(href(s.resource, 'self'));
      assert.equal(res.status, 200, `session ${s.id} entitled on A: ${res.text}`);
    }

    // A's live sessions end INSTANCE_LOST (Terminated) within the lease + margin.
    await waitUntil(
      async () => {
        for (const s of liveResources) if ((await onB.get(href(s, 'self'))).json.endDate === null) return false;
        return true;
      },
      REAP_DEADLINE_MS,
      () => `A's sessions to end (lease ${LEASE_S} s)`,
    );
    t.diagnostic(`A's sessions ended ${Date.now() - killedAt} ms after the kill (lease ${LEASE_S} s)`);
    for (const s of liveResources) {
      const now = (await onB.get(href(s, 'self'))).json;
      assert.equal(now.endReason, 'INSTANCE_LOST', JSON.stringify(now));
      const status = await onB.get(href(s, 'session:status'));
      assert.equal(status.json.state, 'Terminated');
    }

    // A's programs: children of A, orphaned by the kill; B's reaping killed what was left.
    await waitUntil(() => pidsOfSessions(liveOnA).length === 0, 5_000, () => `A's session programs to be gone; left: ${pidsOfSessions(liveOnA).join(',')}`);

    // No application stays Building: B resumes what A owned; each ends Active or Error.
    const finalStates: string[] = [];
    for (const app of recorded.apps) {
      const { final } = await pollStatus(onB, app.resource, settled, 30_000);
      assert.ok(final.state === 'Active' || final.state === 'Error', `application ${app.id} ended ${JSON.stringify(final)}`);
      finalStates.push(final.state as string);
    }
    t.diagnostic(`applications created on A ended: ${finalStates.join(', ')}`);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const owned = await db.query('select id, state from applications where build_owner = $1 and state in ($2, $3)', [aInstanceId, 'New', 'Building']);
      assert.deepEqual(owned.rows, [], 'builds still owned by the dead instance');
      // The downloads take 1.5 s, so builds were running when A died: B restarted them (a new generation, owned by B).
      const bInstanceId = (await rawRequest(b.url, { method: 'GET', path: '/health' })).json.instanceId as string;
      const resumed = await db.query('select id from applications where build_owner = $1 and build_generation > 1 and id = any($2)', [bInstanceId, recorded.apps.map((x) => x.id)]);
      t.diagnostic(`${resumed.rows.length} of A's builds were resumed by B`);
      assert.ok(resumed.rows.length > 0, 'no build of A was resumed by B');
      const instances = await db.query<{ id: string }>('select id from instances');
      assert.deepEqual(instances.rows.map((r) => r.id).filter((id) => id === aInstanceId), [], 'the dead instance is still registered');
    } finally {
      await db.end();
    }

    // An entitlement A issued and nobody redeemed still works, on B.
    const unredeemed = recorded.sessions[0]!.resource;
    const grant = await redeem(onInstance(unredeemed.entitlementUrl as string, b.url));
    assert.equal(new URL(grant.streamUrl as string).host, new URL(b.url).host, 'redeemed on B: its stream lives on B');
    leftoverSessionIds.push(unredeemed.id as string);
    const ended = await onB.putJson(href(unredeemed, 'session:terminate'), { state: 'Terminated' });
    assert.equal(ended.status, 200, ended.text);
  });
});

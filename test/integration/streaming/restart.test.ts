/**
 * Sessions across server stops: a graceful stop ends live sessions (SERVER_SHUTDOWN) and kills
 * their programs; after a crash (a previous process's instance row and its sessions left live
 * in the store, their processes still running), the next server on the same data folder ends
 * them (SERVER_RESTART) and kills the processes, found by APPSTREAM_SESSION_ID in /proc.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { TEST_STORE } from '../../helpers/test-store.js';
import { after, describe, test } from 'node:test';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, SignedClient } from '../../helpers/signed-client.js';
import {
  alive,
  attach,
  entitle,
  fetchSession,
  pidsOfSession,
  redeem,
  sessionState,
  startStreamHarness,
  waitUntil,
  WAIT_MS,
  type StreamHarness,
} from './support.js';

const WAITING = '#!/bin/sh\necho RESTART-READY\nwhile IFS= read -r line; do echo "GOT:$line"; done\n';

describe('server stop and restart', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** Starts a second server on the first one's data folder; API calls use the first one's key. */
  async function restartOn(h: StreamHarness): Promise<{ server: TestServer; client: SignedClient }> {
    const server = await startServer({ APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true' }, { dataDir: h.server.dataDir });
    cleanups.push(() => server.stop());
    return { server, client: new SignedClient(server.url, h.server.credentials) };
  }

  test('a graceful stop ends a live session Completed/SERVER_SHUTDOWN and kills its program', async () => {
    const h = await startStreamHarness();
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await h.stop();
    });
    const app = await h.terminalApp(WAITING);
    const session = await entitle(h.client, app);
    const stream = await attach(await redeem(session.entitlementUrl));
    await stream.waitFor(/RESTART-READY/, WAIT_MS);
    const program = h.server.app.supervisor.program(session.id);
    assert.ok(program);
    const pids = [...new Set([program.pid, ...program.processTreePids(), ...pidsOfSession(session.id)])];
    assert.ok(pids.length > 0);

    await h.stop({ keepData: true });
    stopped = true;
    assert.equal(await stream.closed, 4000, 'the client is told the session ended');
    await waitUntil(() => pids.every((p) => !alive(p)) && pidsOfSession(session.id).length === 0, WAIT_MS, () => {
      return `the program of ${session.id} to be gone; alive ${pids.filter(alive).join(',')}`;
    });

    const next = await restartOn(h);
    const ended = await fetchSession(next.client, session);
    assert.equal(await sessionState(next.client, session), 'Completed');
    assert.equal(ended.endReason, 'SERVER_SHUTDOWN');
    assert.ok(ended.endDate);
    assert.equal(ended.errorCount, 0, 'a shutdown is not an error event');
  });

  test('after a crash the next server ends sessions left live (SERVER_RESTART) and kills their processes', async () => {
    const h = await startStreamHarness();
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await h.stop();
    });
    const app = await h.terminalApp(WAITING);

    // Two sessions that run to their end normally, then are put back as a crash would leave them.
    const active = await entitle(h.client, app);
    const reserved = await entitle(h.client, app);
    const untouched = await entitle(h.client, app, { expirationDuration: 60 });
    for (const s of [active, reserved]) {
      const stream = await attach(await redeem(s.entitlementUrl));
      await stream.waitFor(/RESTART-READY/, WAIT_MS);
      const res = await h.client.putJson(href(s, 'session:terminate'), { state: 'Terminated' });
      assert.ok(res.status < 300, res.text);
      await stream.closed;
    }
    // The process that "crashed" left its instance row (with a lease still fresh, so this
    // server does not reap it before stopping) and its sessions bound to it, still live.
    const db = h.server.app.store.db;
    const crashedInstance = randomUUID();
    const at = new Date().toISOString();
    await db.insertInto('instances').values({ id: crashedInstance, public_url: h.server.url, started_at: at, heartbeat_at: at }).execute();
    for (const [s, state] of [[active, 'Active'], [reserved, 'Reserved']] as const) {
      await db.updateTable('sessions').set({ state, end_date: null, end_reason: null, instance_id: crashedInstance }).where('id', '=', s.id).execute();
    }

    // Their "programs": a process tree per session, still running after the crash.
    const orphans: ChildProcess[] = [];
    for (const s of [active, reserved]) {
      const child = spawn('sh', ['-c', 'sleep 600 & sleep 601 & wait'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', APPSTREAM_SESSION_ID: s.id }, stdio: 'ignore', detached: true });
      orphans.push(child);
      cleanups.push(() => {
        for (const pid of pidsOfSession(s.id)) process.kill(pid, 'SIGKILL');
      });
    }
    for (const s of [active, reserved]) {
      await waitUntil(() => pidsOfSession(s.id).length === 3, WAIT_MS, () => `the stand-in tree of ${s.id}: ${pidsOfSession(s.id).join(',')}`);
    }
    const treePids = [...pidsOfSession(active.id), ...pidsOfSession(reserved.id)];

    // This server never launched these processes, so stopping it leaves them running.
    await h.stop({ keepData: true });
    stopped = true;
    assert.ok(treePids.every(alive), 'a graceful stop of the old server does not touch processes it does not own');

    const next = await restartOn(h);
    await waitUntil(() => treePids.every((p) => !alive(p)), WAIT_MS, () => `leftover processes to be killed; alive ${treePids.filter(alive).join(',')}; logs:\n${next.server.logs.slice(-20).join("\n")}`);
    assert.equal(pidsOfSession(active.id).length + pidsOfSession(reserved.id).length, 0);
    // SQLite serves one instance, so an older instance row is this server's previous process
    // (SERVER_RESTART); on PostgreSQL it may be another instance, taken over once its lease
    // expires (INSTANCE_LOST, state Terminated).
    const expected = TEST_STORE === 'postgres' ? { state: 'Terminated', reason: 'INSTANCE_LOST' } : { state: 'Completed', reason: 'SERVER_RESTART' };
    for (const s of [active, reserved]) {
      const ended = await fetchSession(next.client, s);
      assert.equal(await sessionState(next.client, s), expected.state, `session ${s.id}`);
      assert.equal(ended.endReason, expected.reason);
      assert.ok(ended.endDate);
    }
    // A session never redeemed is not "left live": it keeps its entitlement.
    assert.equal(await sessionState(next.client, untouched), 'Entitled');
  });
});

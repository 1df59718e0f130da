/**
 * Reconnecting and the supervisor's timers, over real sockets: a dropped client resumes
 * within the grace period to the same program with the output it missed; past the grace the
 * session ends (CLIENT_DISCONNECTED) and resume is 410; nobody attaching ends it
 * (CONNECT_TIMEOUT); continuous output without client input does not keep it alive
 * (IDLE_TIMEOUT). Each timer runs on its own server with that timer at 1 s.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import {
  alive,
  attach,
  dropSocket,
  entitle,
  fetchSession,
  pidsOfSession,
  redeem,
  resume,
  sessionState,
  startStreamHarness,
  type,
  waitForEnd,
  waitUntil,
  WAIT_MS,
  type StreamHarness,
} from './support.js';

/** On "later": acknowledges, then prints a line after a pause and leaves a file as proof. */
const RESUMABLE = `#!/bin/sh
echo "RESUMABLE-READY"
while IFS= read -r line; do
  case "$line" in
    later) echo "ACK-LATER"; sleep 2; echo "WHILE-AWAY-OUTPUT"; : > "$HOME/printed";;
    *) echo "GOT:$line";;
  esac
done
`;

const WAITING = '#!/bin/sh\necho WAITING\nwhile IFS= read -r line; do echo "GOT:$line"; done\n';
const CHATTY = '#!/bin/sh\nwhile true; do echo tick; sleep 0.1; done\n';

async function livePids(h: StreamHarness, sessionId: string): Promise<number[]> {
  let pids: number[] = [];
  await waitUntil(() => (pids = pidsOfSession(sessionId)).length > 0, WAIT_MS, () => `a process of session ${sessionId}`);
  const program = h.server.app.supervisor.program(sessionId);
  return [...new Set([...pids, ...(program ? [program.pid, ...program.processTreePids()] : [])])];
}

async function assertAllGone(sessionId: string, pids: number[]): Promise<void> {
  await waitUntil(() => pids.every((p) => !alive(p)) && pidsOfSession(sessionId).length === 0, WAIT_MS, () => {
    return `the processes of ${sessionId} to be gone; alive: ${[...pids.filter(alive), ...pidsOfSession(sessionId)].join(',')}`;
  });
}

describe('resume within the disconnect grace', { timeout: 180_000 }, () => {
  let h: StreamHarness;
  let app: any;

  before(async () => {
    h = await startStreamHarness();
    app = await h.terminalApp(RESUMABLE);
  });
  after(async () => {
    await h?.stop();
  });

  test('a dropped client resumes to the same program and gets the output produced while away', async () => {
    const session = await entitle(h.client, app);
    const grant = await redeem(session.entitlementUrl);
    const first = await attach(grant);
    let pidBefore: number;
    try {
      await first.waitFor(/RESUMABLE-READY/, WAIT_MS);
      const program = h.server.app.supervisor.program(session.id);
      assert.ok(program);
      pidBefore = program.pid;
      type(first.ws, 'later\r');
      await first.waitFor(/ACK-LATER/, WAIT_MS);
    } finally {
      await dropSocket(first.ws);
    }
    assert.doesNotMatch(first.output(), /WHILE-AWAY-OUTPUT/, 'the line is printed after the drop');

    // The program prints while nobody is attached; the file says it has.
    const proof = path.join(h.server.dataDir, 'sessions', session.id, 'home', 'printed');
    await waitUntil(() => existsSync(proof), WAIT_MS, () => `${proof} to exist`);
    assert.equal(await sessionState(h.client, session), 'Active', 'still live while detached');
    assert.equal((await fetchSession(h.client, session)).endDate, null);

    const resumed = await resume(session.entitlementUrl, grant.resumeSecret);
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.json.sessionId, session.id);
    assert.notEqual(resumed.json.connectToken, grant.connectToken, 'a new connect token');
    assert.equal(resumed.json.resumeSecret, undefined, 'resume does not hand out a new secret');

    const second = await attach(resumed.json);
    try {
      await second.waitFor(/WHILE-AWAY-OUTPUT/, WAIT_MS);
      const program = h.server.app.supervisor.program(session.id);
      assert.equal(program?.pid, pidBefore, 'the same program');
      assert.ok(alive(pidBefore));
      type(second.ws, 'back\r');
      await second.waitFor(/GOT:back/, WAIT_MS);
    } finally {
      second.ws.terminate();
    }
  });

  test('a wrong resume secret is refused and the session stays live', async () => {
    const session = await entitle(h.client, app);
    const grant = await redeem(session.entitlementUrl);
    const res = await resume(session.entitlementUrl, 'A'.repeat(43));
    assertAwsError(res, 401, 'InvalidConnectTokenException');
    const stream = await attach(grant);
    try {
      await stream.waitFor(/RESUMABLE-READY/, WAIT_MS);
    } finally {
      stream.ws.terminate();
    }
  });
});

describe('disconnect grace of 1 s', { timeout: 180_000 }, () => {
  let h: StreamHarness;
  let app: any;

  before(async () => {
    h = await startStreamHarness({ env: { APPSTREAMD_DISCONNECT_TIMEOUT_S: '1' } });
    app = await h.terminalApp(WAITING);
  });
  after(async () => {
    await h?.stop();
  });

  test('past the grace the session ends Completed/CLIENT_DISCONNECTED, its program is killed and resume is 410', async () => {
    const session = await entitle(h.client, app);
    const grant = await redeem(session.entitlementUrl);
    const stream = await attach(grant);
    await stream.waitFor(/WAITING/, WAIT_MS);
    const pids = await livePids(h, session.id);
    await dropSocket(stream.ws);

    const { session: ended, state } = await waitForEnd(h.client, session);
    assert.equal(state, 'Completed');
    assert.equal(ended.endReason, 'CLIENT_DISCONNECTED');
    assert.equal(ended.errorCount, 0, 'a disconnect is not an error event');
    await assertAllGone(session.id, pids);

    assertAwsError(await resume(session.entitlementUrl, grant.resumeSecret), 410, 'EntitlementExpiredException');
  });
});

describe('connect timeout of 1 s', { timeout: 180_000 }, () => {
  let h: StreamHarness;
  let app: any;

  before(async () => {
    h = await startStreamHarness({ env: { APPSTREAMD_CONNECT_TIMEOUT_S: '1' } });
    app = await h.terminalApp(WAITING);
  });
  after(async () => {
    await h?.stop();
  });

  test('a redeemed session nobody attaches to ends Terminated/CONNECT_TIMEOUT and its program is killed', async () => {
    const session = await entitle(h.client, app);
    const grant = await redeem(session.entitlementUrl);
    const pids = await livePids(h, session.id).catch(() => [] as number[]); // may already be over on a slow machine
    const { session: ended, state } = await waitForEnd(h.client, session);
    assert.equal(state, 'Terminated');
    assert.equal(ended.endReason, 'CONNECT_TIMEOUT');
    assert.equal(ended.startDate, null, 'never attached');
    await assertAllGone(session.id, pids);
    assertAwsError(await resume(session.entitlementUrl, grant.resumeSecret), 410, 'EntitlementExpiredException');
  });
});

describe('idle timeout of 1 s', { timeout: 180_000 }, () => {
  let h: StreamHarness;
  let app: any;

  before(async () => {
    h = await startStreamHarness({ env: { APPSTREAMD_IDLE_TIMEOUT_S: '1' } });
    app = await h.terminalApp(CHATTY);
  });
  after(async () => {
    await h?.stop();
  });

  test('continuous output without client input does not keep a session alive: IDLE_TIMEOUT', async () => {
    const session = await entitle(h.client, app);
    const grant = await redeem(session.entitlementUrl);
    const stream = await attach(grant);
    try {
      await stream.waitFor(/tick/, WAIT_MS);
      const pids = await livePids(h, session.id);
      const code = await stream.closed;
      assert.equal(code, 4000, 'the server closes the socket when the session ends');
      const { session: ended, state } = await waitForEnd(h.client, session);
      assert.equal(state, 'Completed');
      assert.equal(ended.endReason, 'IDLE_TIMEOUT');
      assert.ok((stream.output().match(/tick/g) ?? []).length >= 1, 'output was flowing');
      await assertAllGone(session.id, pids);
    } finally {
      stream.ws.terminate();
    }
  });
});

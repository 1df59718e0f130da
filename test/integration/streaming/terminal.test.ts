/**
 * A terminal session end to end over loopback: entitle (signed, HAL from GET /) → redeem →
 * WebSocket → the program's output read on a headless xterm screen, typed input echoed,
 * resize carried to the pty, the exit code reported as one session error event, and
 * session:terminate killing the whole process tree (checked in /proc).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { href } from '../../helpers/signed-client.js';
import {
  alive,
  attach,
  attachScreen,
  entitle,
  errorRecords,
  fetchApplication,
  fetchSession,
  killAll,
  pidsOfSession,
  redeem,
  sessionState,
  startStreamHarness,
  type,
  waitForEnd,
  waitUntil,
  WAIT_MS,
  type StreamHarness,
} from './support.js';

/** Prints its environment, answers line commands, exits 3 on request. */
const SCRIPT = `#!/bin/sh
echo "MARKER-START sid=$APPSTREAM_SESSION_ID"
echo "OPAQUE=[$APPSTREAM_OPAQUE_DATA]"
while IFS= read -r line; do
  case "$line" in
    size) echo "SIZE=$(stty size)";;
    exit3) exit 3;;
    *) echo "GOT:$line";;
  esac
done
`;

/** Leaves a background child behind, so the tree has more than one process. */
const TREE_SCRIPT = `#!/bin/sh
sleep 1000 &
sh -c 'sleep 1001' &
echo "TREE-READY"
while IFS= read -r line; do echo "GOT:$line"; done
`;

describe('terminal streaming', { timeout: 180_000 }, () => {
  let h: StreamHarness;
  let app: any;
  let treeApp: any;

  before(async () => {
    h = await startStreamHarness();
    app = await h.terminalApp(SCRIPT);
    treeApp = await h.terminalApp(TREE_SCRIPT);
  });

  after(async () => {
    await h?.stop();
  });

  test('output on a headless xterm, echoed input, env, resize, exit 3 → Completed with one error event', async () => {
    const session = await entitle(h.client, app, { opaqueData: 'opaque-42 with spaces' });
    assert.equal(session.startDate, null);
    const grant = await redeem(session.entitlementUrl);
    assert.equal(grant.sessionId, session.id);
    assert.equal(grant.protocol, 'terminal');
    assert.equal(await sessionState(h.client, session), 'Reserved');
    assert.equal((await fetchSession(h.client, session)).startDate, null, 'startDate is set on first attach, not on redeem');

    const stream = await attachScreen(grant, 80, 24);
    const { screen } = stream;
    try {
      // Output produced before the attach was buffered and replayed, so the marker is on screen.
      await screen.waitForLine(new RegExp(`^MARKER-START sid=${session.id}$`));
      await screen.waitForLine(/^OPAQUE=\[opaque-42 with spaces\]$/);

      await waitUntil(async () => (await sessionState(h.client, session)) === 'Active', WAIT_MS, () => 'session Active');
      const active = await fetchSession(h.client, session);
      assert.ok(active.startDate, 'startDate set on first attach');
      assert.equal(active.endDate, null);

      type(stream.ws, 'hello terminal\r');
      await screen.waitForLine(/^GOT:hello terminal$/);
      // The pty echoes the typed line too (terminal line discipline).
      await screen.waitForLine(/^hello terminal$/);

      stream.ws.send(JSON.stringify({ type: 'resize', cols: 101, rows: 37 }));
      type(stream.ws, 'size\r');
      await screen.waitForLine(/^SIZE=37 101$/);

      type(stream.ws, 'exit3\r');
      assert.equal(await stream.closed, 4000, 'the socket closes with 4000 when the program ends');
    } finally {
      stream.ws.terminate();
      screen.dispose();
    }

    const { session: ended, state } = await waitForEnd(h.client, session);
    assert.equal(state, 'Completed');
    assert.equal(ended.errorCount, 1);
    assert.equal(ended.endReason, 'PROGRAM_FAILED');
    assert.ok(ended.startDate, 'startDate kept');
    assert.ok(ended.endDate, 'endDate set');
    assert.ok(Date.parse(ended.endDate) >= Date.parse(ended.startDate), 'endDate after startDate');

    const application = await fetchApplication(h.client, app);
    assert.equal(application.sessionErrorCount, 1);
    const records = (await errorRecords(h.client, application)).filter((r) => r.type === 'Session');
    assert.equal(records.length, 1, JSON.stringify(records));
    assert.equal(records[0].sessionId, session.id);
    assert.equal(pidsOfSession(session.id).length, 0, 'no process of the ended session remains');
  });

  test('terminate on a running session closes the socket and kills the whole process tree', async () => {
    const session = await entitle(h.client, treeApp);
    const grant = await redeem(session.entitlementUrl);
    const stream = await attach(grant);
    let captured: number[] = [];
    try {
      await stream.waitFor(/TREE-READY/, WAIT_MS);
      const program = h.server.app.supervisor.program(session.id);
      assert.ok(program, 'the supervisor holds the running program');
      // The background sleeps may take a moment to appear on a loaded machine.
      await waitUntil(() => pidsOfSession(session.id).length >= 3, WAIT_MS, () => `the tree of ${session.id}: ${pidsOfSession(session.id).join(',')}`);
      const tree = program.processTreePids();
      captured = [...new Set([program.pid, ...tree, ...pidsOfSession(session.id)])];
      assert.ok(tree.includes(program.pid), 'the tree includes the top process');
      assert.ok(tree.length >= 3, `the tree has the program and its children: ${tree.join(',')}`);

      const res = await h.client.putJson(href(session, 'session:terminate'), { state: 'Terminated' });
      assert.ok(res.status >= 200 && res.status < 300, `terminate: ${res.status} ${res.text}`);

      assert.equal(await stream.closed, 4000, 'the server closes the socket: the session ended');
      await waitUntil(() => captured.every((pid) => !alive(pid)) && pidsOfSession(session.id).length === 0, WAIT_MS, () => {
        return `processes of ${session.id} to be gone: still ${[...captured.filter(alive), ...pidsOfSession(session.id)].join(',')}`;
      });
      assert.equal(await sessionState(h.client, session), 'Terminated');
      const ended = await fetchSession(h.client, session);
      assert.ok(ended.endDate, 'endDate set');
      await waitUntil(() => h.server.app.supervisor.program(session.id) === undefined, WAIT_MS, () => 'the supervisor to forget the program');
    } finally {
      stream.ws.terminate();
      killAll(captured.filter(alive));
    }
  });
});

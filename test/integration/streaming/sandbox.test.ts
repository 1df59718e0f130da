/**
 * The session sandbox seen from inside a program, through the API (as root, full isolation):
 * no TCP to the host's loopback, no reading another live session's home, a non-root uid; a
 * fork bomb and a 2 GiB allocation are stopped by the limits with an error event while the
 * server keeps answering and another session keeps working; /health says "full".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from '../../helpers/signed-client.js';
import {
  alive,
  attach,
  entitle,
  fetchApplication,
  pidsOfSession,
  redeem,
  startStreamHarness,
  waitForEnd,
  waitUntil,
  WAIT_MS,
  type StreamHarness,
} from './support.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = !isRoot && !process.env['CI'] ? 'needs root for full isolation (namespaces, a uid per session)' : false;
if (skip) console.log(`# sandbox.test.ts skipped: ${skip}`);

const TCP_PROBE = 'if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then echo "TCP=open"; else echo "TCP=blocked"; fi';

/** One program, many probes: opaqueData is "<mode>:<argument>". */
const PROBE = `#!/bin/bash
mode="\${APPSTREAM_OPAQUE_DATA%%:*}"
arg="\${APPSTREAM_OPAQUE_DATA#*:}"
probe_tcp() { ${TCP_PROBE}; }
case "$mode" in
  tcp) probe_tcp "$arg" ;;
  secret) echo "$arg" > "$HOME/secret.txt"; echo "SECRET-WRITTEN" ;;
  peek)
    if cat "$arg/secret.txt" 2>/dev/null; then echo "PEEK=read"; else echo "PEEK=denied"; fi
    if ls "$arg" >/dev/null 2>&1; then echo "LIST=ok"; else echo "LIST=denied"; fi ;;
  id) echo "UID=$(id -u) EUID=$(id -u -r) GID=$(id -g)" ;;
  # These two wait for "go" so the client is attached before the program breaks a limit.
  forkbomb) echo "ARMED"; read -r go; exec perl -e 'while (1) { my $p = fork(); die "fork failed: $!\\n" unless defined $p; }' ;;
  mem) echo "ARMED"; read -r go; exec perl -e 'my $n = 2 * 1024 ** 3 + int(rand(2)); my $x = "x" x $n; print "ALLOCATED\\n"; sleep 600' ;;
esac
echo "PROBE-DONE"
while IFS= read -r line; do echo "GOT:$line"; done
`;

describe('session sandbox (as root)', { skip, timeout: 240_000 }, () => {
  let h: StreamHarness;
  let app: any;
  let listener: net.Server;
  let port = 0;
  let connections = 0;

  before(async () => {
    listener = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as net.AddressInfo).port;
    h = await startStreamHarness();
    app = await h.terminalApp(PROBE);
  });

  after(async () => {
    await h?.stop();
    await new Promise<void>((resolve) => listener?.close(() => resolve()));
  });

  /** Entitles with opaqueData, redeems, attaches; returns the session and its stream. */
  async function probe(opaqueData: string) {
    const session = await entitle(h.client, app, { opaqueData });
    const grant = await redeem(session.entitlementUrl);
    const stream = await attach(grant);
    return { session, stream };
  }

  test('GET /health reports full isolation', async () => {
    const res = await rawRequest(h.server.url, { method: 'GET', path: '/health' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.isolation.level, 'full', JSON.stringify(res.json.isolation));
    assert.equal(h.server.app.isolation.isolation, 'full');
  });

  test('the program cannot open a TCP connection to the host loopback', async () => {
    // Control: the same probe outside the sandbox does connect, so "blocked" below means something.
    const control = spawnSync('bash', ['-c', TCP_PROBE, 'probe', String(port)], { encoding: 'utf8', timeout: 10_000 });
    assert.match(control.stdout, /TCP=open/, `control probe: ${control.stdout} ${control.stderr}`);
    await waitUntil(() => connections === 1, WAIT_MS, () => 'the control connection to arrive');

    const { stream } = await probe(`tcp:${port}`);
    try {
      await stream.waitFor(/PROBE-DONE/, WAIT_MS);
      assert.match(stream.output(), /TCP=blocked/);
      assert.doesNotMatch(stream.output(), /TCP=open/);
      assert.equal(connections, 1, 'no connection from inside the sandbox reached the listener');
    } finally {
      stream.ws.terminate();
    }
  });

  test("a program cannot read another live session's home", async () => {
    const holder = await probe('secret:top-secret-4711');
    const peeker = { session: undefined as any, stream: undefined as any };
    try {
      await holder.stream.waitFor(/SECRET-WRITTEN/, WAIT_MS);
      const otherHome = path.join(h.server.dataDir, 'sessions', holder.session.id, 'home');
      assert.equal(readFileSync(path.join(otherHome, 'secret.txt'), 'utf8').trim(), 'top-secret-4711', 'the secret is there to be read');

      Object.assign(peeker, await probe(`peek:${otherHome}`));
      await peeker.stream.waitFor(/PROBE-DONE/, WAIT_MS);
      const out: string = peeker.stream.output();
      assert.match(out, /PEEK=denied/);
      assert.match(out, /LIST=denied/);
      assert.doesNotMatch(out, /top-secret-4711/);
    } finally {
      holder.stream.ws.terminate();
      peeker.stream?.ws.terminate();
    }
  });

  test('the program runs as a non-root uid', async () => {
    const { session, stream } = await probe('id:');
    try {
      await stream.waitFor(/PROBE-DONE/, WAIT_MS);
      const m = /UID=(\d+) EUID=(\d+) GID=(\d+)/.exec(stream.output());
      assert.ok(m, stream.output());
      assert.notEqual(Number(m[1]), 0);
      assert.notEqual(Number(m[2]), 0);
      assert.notEqual(Number(m[3]), 0);
      // And as the host sees it: every process carrying the session id runs as that uid.
      const pids = pidsOfSession(session.id);
      assert.ok(pids.length > 0);
      for (const pid of pids) {
        const uidLine = /^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        assert.ok(uidLine);
        assert.notEqual(Number(uidLine[1]), 0, `pid ${pid} real uid`);
        assert.notEqual(Number(uidLine[2]), 0, `pid ${pid} effective uid`);
      }
    } finally {
      stream.ws.terminate();
    }
  });

  /** Runs a limit-breaking program; meanwhile the server answers and another session works. */
  async function limitBreaker(mode: 'forkbomb' | 'mem', limitMessage: RegExp): Promise<void> {
    const before = (await fetchApplication(h.client, app)).sessionErrorCount as number;
    const { session, stream } = await probe(`${mode}:`);
    try {
      await stream.waitFor(/ARMED/, WAIT_MS);
      stream.ws.send(Buffer.from('go\r'), { binary: true });
      const root = await h.client.get('/');
      assert.equal(root.status, 200, root.text);
      const bystander = await probe('id:');
      try {
        await bystander.stream.waitFor(/PROBE-DONE/, WAIT_MS);
        bystander.stream.ws.send(Buffer.from('still fine\r'), { binary: true });
        await bystander.stream.waitFor(/GOT:still fine/, WAIT_MS);
      } finally {
        bystander.stream.ws.terminate();
      }

      const { session: ended, state } = await waitForEnd(h.client, session, 60_000);
      assert.equal(state, 'Completed');
      assert.ok(['PROGRAM_FAILED', 'LIMIT_EXCEEDED'].includes(ended.endReason), `endReason ${ended.endReason}`);
      assert.equal(ended.errorCount, 1, 'one error event');
      assert.doesNotMatch(stream.output(), /ALLOCATED/);
      assert.match(stream.output(), limitMessage, 'the program saw the limit');
      await waitUntil(() => pidsOfSession(session.id).length === 0, WAIT_MS, () => `processes of ${session.id} gone: ${pidsOfSession(session.id).join(',')}`);
      const application = await fetchApplication(h.client, app);
      assert.equal(application.sessionErrorCount, before + 1);

      const again = await h.client.get('/');
      assert.equal(again.status, 200, again.text);
      assert.ok(alive(process.pid));
    } finally {
      stream.ws.terminate();
    }
  }

  test('a fork bomb is stopped by the process limit with an error event', async () => {
    await limitBreaker('forkbomb', /fork failed: Resource temporarily unavailable/);
  });

  test('allocating 2 GiB is stopped by the address-space limit with an error event', async () => {
    await limitBreaker('mem', /Out of memory/);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { launchProgram } from '../../../src/stream/launch.js';
import type { RunningProgram } from '../../../src/stream/types.js';
import { createUidPool, DEFAULT_UID_LOCK_DIR, DEFAULT_UID_RANGE } from '../../../src/sandbox/uid-pool.js';
import { capabilities, FakeClient, isGone, makeSandbox, makeWorkDir, spec, writeScript } from '../stream/helpers.js';

const skip = capabilities.isolation !== 'full'
  ? `full isolation is not available here (${capabilities.reasons.join('; ')}): run as root to test the sandbox`
  : false;

const ALLOWED_ENV = ['APPSTREAM_OPAQUE_DATA', 'APPSTREAM_SESSION_ID', 'HOME', 'LANG', 'PATH', 'TERM'];

describe('sandbox isolation (root)', { skip }, () => {
  let work: Awaited<ReturnType<typeof makeWorkDir>>;
  let server: net.Server;
  let port = 0;
  let connections = 0;
  const running: RunningProgram[] = [];
  // One pool for the whole server, as in production, with the host-wide locks so parallel test
  // files (or servers) never hand the same uid (and so the same nproc budget) to two programs.
  const uidPool = createUidPool(DEFAULT_UID_RANGE.first, DEFAULT_UID_RANGE.last, process.getuid?.() === 0 ? DEFAULT_UID_LOCK_DIR : null);

  async function run(launchPath: string, limits = {}, opaqueData: string | null = 'od', params = ''): Promise<{ program: RunningProgram; client: FakeClient; sessionId: string }> {
    const s = spec({ imageDir: work.imageDir, sessionsRoot: work.sessionsRoot, launchPath, opaqueData, launchParameters: params });
    const program = await launchProgram(s, { ...makeSandbox(limits), uidPool });
    running.push(program);
    const client = new FakeClient();
    program.attach(client);
    return { program, client, sessionId: s.sessionId };
  }

  before(async () => {
    work = await makeWorkDir();
    server = net.createServer((socket) => {
      connections++;
      socket.end('hello from the host\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;

    await writeScript(work.imageDir, 'whoami.sh', '#!/bin/sh\necho "UID=$(id -u) GID=$(id -g) GROUPS=$(id -G)"\ntr "\\000" "\\n" < /proc/$$/environ | sed "s/^/ENV:/"\necho "CAPEFF=$(grep CapEff /proc/self/status | tr -d "\\t")"\necho "NNP=$(grep NoNewPrivs /proc/self/status | tr -d "\\t")"\necho "PID=$$"\necho DONE\n');
    await writeScript(work.imageDir, 'connect.sh', `#!/bin/bash\nif exec 3<>/dev/tcp/127.0.0.1/$1; then echo "CONNECTED"; cat <&3; else echo "CONNECT-FAILED"; fi\necho DONE\n`);
    await writeScript(work.imageDir, 'keep-secret.sh', '#!/bin/sh\necho "top secret" > "$HOME/secret"\nchmod 644 "$HOME/secret"\necho "HOME=$HOME"\necho READY\nsleep 300\n');
    await writeScript(work.imageDir, 'peek.sh', '#!/bin/sh\nif cat "$1/secret"; then echo "READ-OK"; else echo "READ-DENIED"; fi\nif ls "$1" >/dev/null 2>&1; then echo "LIST-OK"; else echo "LIST-DENIED"; fi\necho DONE\n');
    await writeScript(work.imageDir, 'bomb.sh', '#!/bin/sh\nbomb() { bomb & bomb & wait; }\necho BOMBING\nbomb\nsleep 300\n');
    const alloc = existsSync('/usr/bin/python3')
      ? `/usr/bin/python3 -c 'b = bytearray(2 * 1024 ** 3)' 2>/dev/null`
      : 'head -c 2G /dev/zero | tail >/dev/null 2>&1';
    await writeScript(work.imageDir, 'alloc.sh', `#!/bin/bash\nif ${alloc}; then echo "ALLOC-OK"; else echo "ALLOC-FAILED"; fi\necho DONE\n`);
    await writeScript(work.imageDir, 'spin.sh', '#!/bin/sh\nwhile :; do :; done\n');
    await writeScript(work.imageDir, 'bigfile.sh', '#!/bin/sh\nexec head -c 4000000 /dev/zero > "$HOME/big"\n');
  });

  after(async () => {
    await Promise.all(running.map((p) => p.kill()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await work.cleanup();
  });

  test('runs as an unprivileged pool uid with no capabilities and only the allowed environment', async () => {
    const { program, client } = await run('whoami.sh');
    await client.waitFor((t) => t.includes('DONE'), 'the report');
    const uid = Number(/UID=(\d+)/.exec(client.text)?.[1]);
    assert.ok(uid >= 61000 && uid <= 61999, `uid ${uid} is from the pool`);
    assert.match(client.text, new RegExp(`GID=${uid} GROUPS=${uid}\\r?\\n`));
    assert.match(client.text, /CAPEFF=CapEff:0000000000000000/);
    assert.match(client.text, /NNP=NoNewPrivs:1/);
    assert.match(client.text, /PID=2\r?\n/, 'the program is the first child of the namespace init');
    const names = [...client.text.matchAll(/ENV:([A-Z_a-z0-9]+)=/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(names)].sort(), ALLOWED_ENV);
    const exit = await program.exited;
    assert.equal(exit.exitCode, 0);
    assert.deepEqual(uidPool.inUse(), [], 'the uid is released at the end');
  });

  test('cannot reach a server on the host loopback', async () => {
    const { program, client } = await run('connect.sh', {}, null, String(port));
    await client.waitFor((t) => t.includes('DONE'), 'the connect attempt');
    assert.match(client.text, /CONNECT-FAILED/);
    assert.doesNotMatch(client.text, /hello from the host/);
    assert.equal(connections, 0);
    await program.exited;
    // Control: the same server is reachable from outside the sandbox.
    const control = net.connect(port, '127.0.0.1');
    const [greeting] = (await once(control, 'data')) as [Buffer];
    control.destroy();
    assert.match(greeting.toString('utf8'), /hello from the host/);
  });

  test("cannot read another session's home", async () => {
    const owner = await run('keep-secret.sh');
    await owner.client.waitFor((t) => t.includes('READY'), 'the owner to write its secret');
    const home = /HOME=(\S+)/.exec(owner.client.text)?.[1] as string;
    assert.equal(home, path.join(work.sessionsRoot, owner.sessionId, 'home'));
    const peeker = await run('peek.sh', {}, null, home);
    await peeker.client.waitFor((t) => t.includes('DONE'), 'the peek attempt');
    assert.match(peeker.client.text, /READ-DENIED/);
    assert.match(peeker.client.text, /LIST-DENIED/);
    assert.doesNotMatch(peeker.client.text, /top secret/);
    await peeker.program.exited;
    assert.equal(uidPool.inUse().length, 1, 'the peeker ended; the owner still holds its uid');
    await owner.program.kill();
  });

  test('a fork bomb is contained by the process limit and the server is unaffected', async (t) => {
    const { program, client } = await run('bomb.sh', { processes: 64 });
    await client.waitFor((t) => t.includes('BOMBING'), 'the bomb to start');
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      peak = Math.max(peak, program.processTreePids().length);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // unshare (root) + the sandbox's processes, capped at 64 for the session uid.
    assert.ok(peak > 5, `the bomb did fork (${peak})`);
    assert.ok(peak <= 64 + 2, `at most the nproc limit of processes (${peak})`);
    t.diagnostic(`fork bomb peak: ${peak} processes`);
    // The server still works: it can start processes and answer on its event loop.
    assert.equal(spawnSync('/bin/true').status, 0);
    const pids = program.processTreePids();
    await program.kill();
    // The bomb's own shell may already have ended (its forks failing) before the kill: either
    // way the whole tree must be gone.
    assert.ok(['killed', 'exit', 'limit'].includes((await program.exited).reason));
    assert.deepEqual(pids.filter((pid) => !isGone(pid)), []);
  });

  test('a 2 GiB allocation fails under the address-space limit', async () => {
    const { program, client } = await run('alloc.sh');
    await client.waitFor((t) => t.includes('DONE'), 'the allocation attempt');
    assert.match(client.text, /ALLOC-FAILED/);
    await program.exited;
  });

  test('the CPU limit ends a spinning program with reason limit', async () => {
    const { program } = await run('spin.sh', { cpuSeconds: 1 });
    const exit = await program.exited;
    assert.equal(exit.reason, 'limit', JSON.stringify(exit));
    assert.ok(exit.signal === 'SIGXCPU' || exit.signal === 'SIGKILL', JSON.stringify(exit));
  });

  test('the file size limit ends a program writing too much with reason limit', async () => {
    const { program } = await run('bigfile.sh', { fileSizeBytes: 1024 * 1024 });
    const exit = await program.exited;
    assert.equal(exit.reason, 'limit', JSON.stringify(exit));
    assert.equal(exit.signal, 'SIGXFSZ');
  });
});

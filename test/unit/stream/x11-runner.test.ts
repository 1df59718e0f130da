import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { launchProgram } from '../../../src/stream/launch.js';
import type { RunningProgram } from '../../../src/stream/types.js';
import { findXvnc } from '../../../src/stream/xvnc.js';
import { findExecutable } from '../../../src/sandbox/capabilities.js';
import { FakeClient, isGone, makeSandbox, makeWorkDir, spec, writeScript } from './helpers.js';

const missing = ['Xvnc', 'xlogo', 'xwininfo'].filter((tool) => findExecutable(tool) === null);
const skip = missing.length > 0 && !process.env.CI
  ? `missing ${missing.join(', ')} (Debian: tigervnc-standalone-server x11-apps x11-utils)`
  : false;

// Shows a window, records what the X server sees, then keeps running (or exits with $1).
const X_PROGRAM = `#!/bin/sh
xlogo &
for i in $(seq 1 100); do
  if xwininfo -root -tree 2>/dev/null | grep -q xlogo; then break; fi
  sleep 0.1
done
xwininfo -root -tree > "$HOME/tree.tmp" 2>&1
echo "$DISPLAY" > "$HOME/display.tmp"
mv "$HOME/display.tmp" "$HOME/display"
mv "$HOME/tree.tmp" "$HOME/tree"
if [ -n "$1" ]; then echo "ENDING ON $DISPLAY"; kill $!; exit "$1"; fi
wait
`;

async function waitForFile(file: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return readFileSync(file, 'utf8');
}

describe('x11 runner', { skip }, () => {
  let work: Awaited<ReturnType<typeof makeWorkDir>>;
  const sandbox = makeSandbox();
  const running: RunningProgram[] = [];

  before(async () => {
    assert.ok(findXvnc(), 'Xvnc must be installed when CI is set');
    work = await makeWorkDir();
    await writeScript(work.imageDir, 'show.sh', X_PROGRAM);
  });
  after(async () => {
    await Promise.all(running.map((p) => p.kill()));
    await work.cleanup();
  });

  test('the program draws on its own Xvnc, the client gets RFB, kill() ends both', async () => {
    const s = spec({ imageDir: work.imageDir, sessionsRoot: work.sessionsRoot, launchPath: 'show.sh', protocol: 'x11' });
    const program = await launchProgram(s, sandbox);
    running.push(program);
    assert.equal(program.protocol, 'x11');
    const home = path.join(work.sessionsRoot, s.sessionId, 'home');
    const tree = await waitForFile(path.join(home, 'tree'));
    assert.match(tree, /xlogo/i, 'the program reached the X display through the sandbox');
    const display = readFileSync(path.join(home, 'display'), 'utf8').trim();
    assert.match(display, /^:\d+$/);
    const socketFile = `/tmp/.X11-unix/X${display.slice(1)}`;
    assert.ok(existsSync(socketFile));

    const client = new FakeClient();
    program.attach(client);
    await client.waitFor((t) => /^RFB 003\.00\d\n/.test(t), 'the RFB server version');
    // Answer with our version: the server replies with its security types (None only).
    const greeting = client.bytes.length;
    program.input(Buffer.from('RFB 003.008\n'));
    await client.waitFor(() => client.bytes.length >= greeting + 2, 'the security types');
    assert.deepEqual([...client.bytes.subarray(greeting, greeting + 2)], [1, 1], 'one security type: None');

    const pids = program.processTreePids();
    assert.ok(pids.length >= 3, `program, xlogo and Xvnc are in the tree (${pids.join(',')})`);
    await program.kill();
    const exit = await program.exited;
    assert.equal(exit.reason, 'killed');
    assert.deepEqual(pids.filter((pid) => !isGone(pid)), [], 'no program process and no Xvnc remains');
    assert.ok(!existsSync(socketFile), 'the X socket is removed');
    assert.ok(!existsSync(path.join(work.sessionsRoot, s.sessionId)), 'the session folder is removed');
    assert.ok(client.closed, 'the client is closed');
  });

  test('when the program exits on its own, Xvnc is stopped too', async () => {
    const s = spec({ imageDir: work.imageDir, sessionsRoot: work.sessionsRoot, launchPath: 'show.sh', launchParameters: '5', protocol: 'x11' });
    const program = await launchProgram(s, sandbox);
    running.push(program);
    const pidsWhileRunning = program.processTreePids();
    assert.ok(pidsWhileRunning.length >= 2, 'program and Xvnc are running');
    const exit = await program.exited;
    assert.equal(exit.reason, 'exit');
    assert.equal(exit.exitCode, 5);
    // A failing x11 program's last output lines are kept in the detail.
    const display = /ENDING ON (:\d+)/.exec(exit.detail ?? '')?.[1] ?? '';
    assert.ok(display, `the detail carries the program's output: ${exit.detail}`);
    assert.deepEqual(pidsWhileRunning.filter((pid) => !isGone(pid)), []);
    assert.deepEqual(program.processTreePids(), []);
    assert.ok(!existsSync(`/tmp/.X11-unix/X${display.slice(1)}`), 'the X socket is removed');
  });
});

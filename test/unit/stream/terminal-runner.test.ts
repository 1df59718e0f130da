import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { launchProgram } from '../../../src/stream/launch.js';
import { LaunchError, type RunningProgram } from '../../../src/stream/types.js';
import { FakeClient, isGone, makeSandbox, makeWorkDir, spec, writeScript } from './helpers.js';

const ECHO_SCRIPT = `#!/bin/sh
echo "MARKER-START args=$# first=$1 second=$2"
echo "opaque=$APPSTREAM_OPAQUE_DATA session=$APPSTREAM_SESSION_ID"
while IFS= read -r line; do
  case "$line" in
    quit) echo "bye"; exit 3 ;;
    late) sleep 0.3; echo "LATE-OUTPUT-1"; echo "LATE-OUTPUT-2" ;;
    *) echo "got:$line" ;;
  esac
done
`;

const SPAWNER_SCRIPT = `#!/bin/sh
sleep 300 &
sleep 300 &
( sleep 300 ) &
echo "SPAWNED"
wait
`;

describe('terminal runner', () => {
  let work: Awaited<ReturnType<typeof makeWorkDir>>;
  const sandbox = makeSandbox();
  const running: RunningProgram[] = [];

  before(async () => {
    work = await makeWorkDir();
    await writeScript(work.imageDir, 'bin/echo.sh', ECHO_SCRIPT);
    await writeScript(work.imageDir, 'spawner.sh', SPAWNER_SCRIPT);
  });
  after(async () => {
    await Promise.all(running.map((p) => p.kill()));
    await work.cleanup();
  });

  test('streams output, echoes input, exits with code 3, replays output missed while detached', async () => {
    const s = spec({
      imageDir: work.imageDir,
      sessionsRoot: work.sessionsRoot,
      launchPath: '/bin/echo.sh',
      launchParameters: `"two words" 'x y'`,
      opaqueData: 'the-opaque-data',
    });
    const program = await launchProgram(s, sandbox);
    running.push(program);
    assert.equal(program.protocol, 'terminal');
    assert.ok(program.pid > 0);
    assert.ok(existsSync(path.join(work.sessionsRoot, s.sessionId, 'home')), 'the session home exists while running');

    const client = new FakeClient();
    program.attach(client);
    await client.waitFor((t) => t.includes('MARKER-START'), 'the start marker');
    await client.waitFor((t) => t.includes('session='), 'the environment line');
    assert.match(client.text, /MARKER-START args=2 first=two words second=x y/);
    assert.match(client.text, new RegExp(`opaque=the-opaque-data session=${s.sessionId}`));

    program.input(Buffer.from('hello there\r'));
    await client.waitFor((t) => t.includes('got:hello there'), 'the echoed input');

    // Detach, make it print while no one watches, attach a new viewer: it gets the missed output.
    program.detach();
    program.input(Buffer.from('late\r'));
    const before = client.text;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(client.text, before, 'a detached client receives nothing');
    const second = new FakeClient();
    program.attach(second);
    await second.waitFor((t) => t.includes('LATE-OUTPUT-2'), 'the replayed output');
    assert.ok(second.text.indexOf('LATE-OUTPUT-1') < second.text.indexOf('LATE-OUTPUT-2'));
    assert.ok(!second.text.includes('MARKER-START'), 'output already delivered is not replayed');

    program.resize(120, 40);
    program.input(Buffer.from('quit\r'));
    const exit = await program.exited;
    assert.equal(exit.reason, 'exit');
    assert.equal(exit.exitCode, 3);
    await second.waitFor((t) => t.includes('bye'), 'the goodbye line');
    assert.ok(second.closed, 'the client is closed when the program ends');
    assert.ok(!existsSync(path.join(work.sessionsRoot, s.sessionId)), 'the session folder is removed at the end');
    assert.deepEqual(program.processTreePids(), []);
  });

  test('kill() ends every process of the tree', async () => {
    const program = await launchProgram(
      spec({ imageDir: work.imageDir, sessionsRoot: work.sessionsRoot, launchPath: 'spawner.sh' }),
      sandbox,
    );
    running.push(program);
    const client = new FakeClient();
    program.attach(client);
    await client.waitFor((t) => t.includes('SPAWNED'), 'the spawner to start its children');
    // Wait until all the sleeps are visible in /proc.
    let pids: number[] = [];
    for (let i = 0; i < 200; i++) {
      pids = program.processTreePids();
      if (pids.length >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(pids.length >= 5, `expected the program and its sleeps in the tree, got ${pids.join(',')}`);
    assert.ok(pids.includes(program.pid));

    await program.kill();
    const exit = await program.exited;
    assert.equal(exit.reason, 'killed');
    const alive = pids.filter((pid) => !isGone(pid));
    assert.deepEqual(alive, [], 'no pid of the tree remains');
    assert.deepEqual(program.processTreePids(), []);
  });

  test('a missing or escaping launchPath is a LaunchError', async () => {
    const base = { imageDir: work.imageDir, sessionsRoot: work.sessionsRoot };
    await assert.rejects(launchProgram(spec({ ...base, launchPath: 'nope.sh' }), sandbox), LaunchError);
    await assert.rejects(launchProgram(spec({ ...base, launchPath: '../../../../bin/sh' }), sandbox), LaunchError);
    await assert.rejects(launchProgram(spec({ ...base, launchPath: '/bin' }), sandbox), LaunchError);
    await assert.rejects(
      launchProgram(spec({ ...base, launchPath: 'spawner.sh', launchParameters: '"unclosed' }), sandbox),
      /unclosed double quote/,
    );
    assert.deepEqual(sandbox.uidPool.inUse(), [], 'failed launches give their uid back');
  });
});

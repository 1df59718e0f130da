#!/usr/bin/env node
// Runs every *.test.ts under test/ with node's test runner (TypeScript via tsx), then the
// integration tests a second time against PostgreSQL (and Redis) when those are reachable —
// required when CI is set, skipped with a message otherwise. Ends with the plain summary
// line "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...find(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

function reachable(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function runPass(label, files, env) {
  return new Promise((resolve) => {
    process.stdout.write(`\n=== ${label}: ${files.length} test files ===\n`);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } },
    );
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      const num = (name) => Number((tail.match(new RegExp(`ℹ ${name} (\\d+)`)) ?? [])[1] ?? 0);
      const failed = num('fail') + num('cancelled') + (code !== 0 && num('fail') === 0 ? 1 : 0);
      resolve({ passed: num('pass'), failed, skipped: num('skipped') + num('todo') });
    });
  });
}

const filter = process.argv.slice(2);
const all = find('test').filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
const totals = { passed: 0, failed: 0, skipped: 0 };
const add = (r) => {
  totals.passed += r.passed;
  totals.failed += r.failed;
  totals.skipped += r.skipped;
};

add(await runPass('all tests (SQLite store)', all, {}));

const integration = all.filter((f) => f.startsWith(path.join('test', 'integration')));
if (integration.length > 0) {
  const pgUp = await reachable(5432);
  if (pgUp) {
    add(await runPass('integration tests (PostgreSQL store)', integration, { APPSTREAMD_TEST_STORE: 'postgres' }));
  } else if (process.env.CI) {
    process.stdout.write('\nPostgreSQL is not reachable at 127.0.0.1:5432 but CI is set: the PostgreSQL pass fails.\n');
    totals.failed += 1;
  } else {
    process.stdout.write('\nSkipping the PostgreSQL pass: nothing listens on 127.0.0.1:5432 (set CI to require it).\n');
    totals.skipped += 1;
  }
}

process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed === 0 ? 0 : 1);

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxTools } from '../../../src/sandbox/capabilities.js';
import { buildSandboxCommand, INIT_NAME, INIT_SCRIPT, type SandboxCommandInput } from '../../../src/sandbox/launch-command.js';
import { DEFAULT_SANDBOX_LIMITS } from '../../../src/sandbox/limits.js';

const tools: SandboxTools = {
  unshare: '/usr/bin/unshare',
  setpriv: '/usr/bin/setpriv',
  prlimit: '/usr/bin/prlimit',
  env: '/usr/bin/env',
  sh: '/bin/sh',
};

const base: SandboxCommandInput = {
  isolation: 'full',
  tools,
  uid: 61005,
  limits: DEFAULT_SANDBOX_LIMITS,
  environment: { sessionId: 'sess-1', opaqueData: 'opaque value', home: '/data/sessions/sess-1/home' },
  program: '/images/app/bin/run',
  args: ['--flag', 'two words'],
};

const limitFlags = ['--as=1073741824', '--nproc=128', '--cpu=3600', '--nofile=1024', '--fsize=268435456', '--core=0'];
const envTail = (extra: string[] = [], opaque: string | null = 'opaque value') => [
  '/usr/bin/env', '-i',
  'APPSTREAM_SESSION_ID=sess-1',
  ...(opaque === null ? [] : [`APPSTREAM_OPAQUE_DATA=${opaque}`]),
  'HOME=/data/sessions/sess-1/home', 'TERM=xterm-256color', 'PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8',
  ...extra,
  '/bin/sh', '-c', INIT_SCRIPT, INIT_NAME,
];

describe('buildSandboxCommand', () => {
  const cases: Array<{ name: string; input: SandboxCommandInput; argv: string[] }> = [
    {
      name: 'full isolation: namespaces, then limits, then the uid drop, then a cleared environment',
      input: base,
      argv: [
        '/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--mount-proc', '--net', '--ipc', '--uts', '--',
        '/usr/bin/prlimit', ...limitFlags, '--',
        '/usr/bin/setpriv', '--reuid=61005', '--regid=61005', '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--',
        ...envTail(), '/images/app/bin/run', '--flag', 'two words',
      ],
    },
    {
      name: 'x11 adds DISPLAY and XAUTHORITY, and no opaque data means no variable',
      input: {
        ...base,
        args: [],
        environment: { ...base.environment, opaqueData: null, display: ':3', xauthority: '/data/sessions/sess-1/Xauthority' },
      },
      argv: [
        '/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--mount-proc', '--net', '--ipc', '--uts', '--',
        '/usr/bin/prlimit', ...limitFlags, '--',
        '/usr/bin/setpriv', '--reuid=61005', '--regid=61005', '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--',
        ...envTail(['DISPLAY=:3', 'XAUTHORITY=/data/sessions/sess-1/Xauthority'], null), '/images/app/bin/run',
      ],
    },
    {
      name: 'reduced isolation: limits and a cleared environment only',
      input: { ...base, isolation: 'reduced', uid: null },
      argv: ['/usr/bin/prlimit', ...limitFlags, '--', ...envTail(), '/images/app/bin/run', '--flag', 'two words'],
    },
    {
      name: 'reduced isolation without prlimit',
      input: { ...base, isolation: 'reduced', uid: null, tools: { ...tools, prlimit: null } },
      argv: [...envTail(), '/images/app/bin/run', '--flag', 'two words'],
    },
    {
      name: 'custom limits',
      input: { ...base, limits: { addressSpaceBytes: 1000, processes: 2, cpuSeconds: 3, openFiles: 4, fileSizeBytes: 5 } },
      argv: [
        '/usr/bin/unshare', '--pid', '--fork', '--kill-child', '--mount-proc', '--net', '--ipc', '--uts', '--',
        '/usr/bin/prlimit', '--as=1000', '--nproc=2', '--cpu=3', '--nofile=4', '--fsize=5', '--core=0', '--',
        '/usr/bin/setpriv', '--reuid=61005', '--regid=61005', '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--',
        ...envTail(), '/images/app/bin/run', '--flag', 'two words',
      ],
    },
    {
      name: 'a program path with "=" is not taken as an assignment (it follows the init)',
      input: { ...base, isolation: 'reduced', uid: null, program: '/images/a=b/run', args: [] },
      argv: ['/usr/bin/prlimit', ...limitFlags, '--', ...envTail(), '/images/a=b/run'],
    },
  ];
  for (const { name, input, argv } of cases) {
    test(name, () => {
      const command = buildSandboxCommand(input);
      assert.deepEqual([command.file, ...command.args], argv);
    });
  }

  const failures: Array<{ name: string; input: SandboxCommandInput }> = [
    { name: 'full isolation without a uid', input: { ...base, uid: null } },
    { name: 'full isolation with uid 0', input: { ...base, uid: 0 } },
    { name: 'full isolation without unshare', input: { ...base, tools: { ...tools, unshare: null } } },
    { name: 'full isolation without setpriv', input: { ...base, tools: { ...tools, setpriv: null } } },
    { name: 'a relative program path', input: { ...base, program: 'bin/run' } },
    { name: 'a NUL byte in an argument', input: { ...base, args: ['a\0b'] } },
    { name: 'a NUL byte in opaque data', input: { ...base, environment: { ...base.environment, opaqueData: 'x\0' } } },
  ];
  for (const { name, input } of failures) {
    test(`refuses ${name}`, () => {
      assert.throws(() => buildSandboxCommand(input));
    });
  }
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LaunchParametersError, splitLaunchParameters } from '../../../src/sandbox/launch-parameters.js';

describe('splitLaunchParameters', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['   ', []],
    ['a', ['a']],
    ['a b  c', ['a', 'b', 'c']],
    ['\ta\nb\r\n', ['a', 'b']],
    ['"hello world"', ['hello world']],
    ["'hello world'", ['hello world']],
    ['""', ['']],
    ["a '' b", ['a', '', 'b']],
    ['--name="John Smith"', ['--name=John Smith']],
    ['"a\\"b"', ['a"b']],
    ['"a\\\\b"', ['a\\b']],
    ['"a\\nb"', ['a\\nb']],
    ["'a\\b'", ['a\\b']],
    ["'it'\\''s'", ["it's"]],
    ['a\\ b', ['a b']],
    ['\\"x', ['"x']],
    ['$HOME `id` $(id) ;|&', ['$HOME', '`id`', '$(id)', ';|&']],
    ['"$HOME"', ['$HOME']],
    ['*', ['*']],
    ['x"y z"w', ['xy zw']],
  ];
  for (const [input, expected] of cases) {
    test(`splits ${JSON.stringify(input)}`, () => {
      assert.deepEqual(splitLaunchParameters(input), expected);
    });
  }

  for (const bad of ['"open', "'open", 'trailing\\', 'a "b\\"']) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => splitLaunchParameters(bad), LaunchParametersError);
    });
  }
});

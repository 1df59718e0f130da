import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findSecretsInLogs } from '../helpers/log-secrets.js';

test('the log scan flags known secrets (plain and URL-encoded) and token-shaped values, not digests or ids', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const token = 'Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg';
  assert.equal(token.length, 43);
  const lines = [
    `{"msg":"ok","secret":"${secret}"}`,
    `{"url":"/x?k=${encodeURIComponent(secret)}"}`,
    `{"url":"/entitlements/${token}"}`,
    `{"digest":"${'ab'.repeat(32)}","requestId":"5565ba3a-7e75-4bce-baad-436843ad209e","url":"/entitlements/~1a2b3c4d"}`,
  ];
  const found = findSecretsInLogs(lines, [secret]);
  assert.equal(found.length, 3, found.join('\n'));
  assert.deepEqual(findSecretsInLogs([lines[3]!], [secret]), []);
});

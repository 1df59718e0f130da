import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthorization } from '../../../src/auth/sigv4/parse-authorization.js';
import { assertThrowsApiError } from './assert-api-error.js';

const SIG = 'c8d5539097b14a416a35b88705b8b7c858138546b0ab2ca3f7189a84dec905b7';
const CRED = 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

describe('parseAuthorization accepts', () => {
  const accepted: Array<{ name: string; header: string; signedHeaders?: string[] }> = [
    { name: 'SDK form with ", "', header: `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;x-amz-date, Signature=${SIG}` },
    { name: 'commas without spaces', header: `AWS4-HMAC-SHA256 Credential=${CRED},SignedHeaders=host;x-amz-date,Signature=${SIG}` },
    { name: 'spaces only', header: `AWS4-HMAC-SHA256 Credential=${CRED} SignedHeaders=host;x-amz-date Signature=${SIG}` },
    { name: 'space before comma', header: `AWS4-HMAC-SHA256 Credential=${CRED} , SignedHeaders=host;x-amz-date ,Signature=${SIG}` },
    { name: 'components in another order', header: `AWS4-HMAC-SHA256 Signature=${SIG}, SignedHeaders=host;x-amz-date, Credential=${CRED}` },
    { name: 'surrounding whitespace and tabs', header: `  AWS4-HMAC-SHA256\tCredential=${CRED},\tSignedHeaders=host;x-amz-date, Signature=${SIG}  ` },
    { name: 'upper-case hex signature', header: `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=host;x-amz-date, Signature=${SIG.toUpperCase()}` },
    { name: 'unsorted signed headers', header: `AWS4-HMAC-SHA256 Credential=${CRED}, SignedHeaders=x-amz-date;host, Signature=${SIG}`, signedHeaders: ['x-amz-date', 'host'] },
  ];
  for (const row of accepted) {
    test(row.name, () => {
      const parsed = parseAuthorization(row.header);
      assert.equal(parsed.algorithm, 'AWS4-HMAC-SHA256');
      assert.equal(parsed.accessKeyId, 'AKIDEXAMPLE');
      assert.deepEqual(parsed.scope, { date: '20150830', region: 'us-east-1', service: 'service', terminator: 'aws4_request' });
      assert.equal(parsed.scopeString, '20150830/us-east-1/service/aws4_request');
      assert.deepEqual(parsed.signedHeaders, row.signedHeaders ?? ['host', 'x-amz-date']);
      assert.equal(parsed.signature, SIG);
    });
  }

  test('a wrong terminator is left for the verifier (shape is fine)', () => {
    const parsed = parseAuthorization(`AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws5_request, SignedHeaders=host, Signature=${SIG}`);
    assert.equal(parsed.scope.terminator, 'aws5_request');
  });
});

describe('parseAuthorization rejects with IncompleteSignatureException', () => {
  const ok = { cred: `Credential=${CRED}`, sh: 'SignedHeaders=host;x-amz-date', sig: `Signature=${SIG}` };
  const rejected: Array<{ name: string; header: string; mentions?: string }> = [
    { name: 'empty', header: '' },
    { name: 'whitespace only', header: '   ' },
    { name: 'algorithm only', header: 'AWS4-HMAC-SHA256', mentions: 'Credential' },
    { name: 'other algorithm', header: `AWS4-HMAC-SHA1 ${ok.cred}, ${ok.sh}, ${ok.sig}`, mentions: 'algorithm' },
    { name: 'SigV4a algorithm', header: `AWS4-ECDSA-P256-SHA256 ${ok.cred}, ${ok.sh}, ${ok.sig}`, mentions: 'algorithm' },
    { name: 'lower-case algorithm', header: `aws4-hmac-sha256 ${ok.cred}, ${ok.sh}, ${ok.sig}` },
    { name: 'SigV2 style', header: 'AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=' },
    { name: 'missing Credential', header: `AWS4-HMAC-SHA256 ${ok.sh}, ${ok.sig}`, mentions: "'Credential'" },
    { name: 'missing SignedHeaders', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sig}`, mentions: "'SignedHeaders'" },
    { name: 'missing Signature', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}`, mentions: "'Signature'" },
    { name: 'duplicate Signature', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, ${ok.sig}, ${ok.sig}`, mentions: 'repeats' },
    { name: 'unknown component', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, ${ok.sig}, Extra=1` },
    { name: 'component without =', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, Signature` },
    { name: 'empty component value', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, Signature=` },
    { name: 'double comma', header: `AWS4-HMAC-SHA256 ${ok.cred},, ${ok.sh}, ${ok.sig}` },
    { name: 'trailing comma', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, ${ok.sig},` },
    { name: 'scope with 4 parts', header: `AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/aws4_request, ${ok.sh}, ${ok.sig}` },
    { name: 'scope with 6 parts', header: `AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/x/aws4_request, ${ok.sh}, ${ok.sig}` },
    { name: 'scope with empty access key', header: `AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/service/aws4_request, ${ok.sh}, ${ok.sig}` },
    { name: 'scope with empty region', header: `AWS4-HMAC-SHA256 Credential=AK/20150830//service/aws4_request, ${ok.sh}, ${ok.sig}` },
    { name: 'scope date not yyyymmdd', header: `AWS4-HMAC-SHA256 Credential=AK/2015-08-30/us-east-1/service/aws4_request, ${ok.sh}, ${ok.sig}` },
    { name: 'scope date month 13', header: `AWS4-HMAC-SHA256 Credential=AK/20151330/us-east-1/service/aws4_request, ${ok.sh}, ${ok.sig}` },
    { name: 'signature 63 hex', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, Signature=${SIG.slice(1)}` },
    { name: 'signature 65 hex', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, Signature=${SIG}0` },
    { name: 'signature non-hex', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh}, Signature=${SIG.slice(1)}g` },
    { name: 'signed headers upper-case', header: `AWS4-HMAC-SHA256 ${ok.cred}, SignedHeaders=Host;x-amz-date, ${ok.sig}` },
    { name: 'signed headers empty entry', header: `AWS4-HMAC-SHA256 ${ok.cred}, SignedHeaders=host;;x-amz-date, ${ok.sig}` },
    { name: 'signed headers duplicate', header: `AWS4-HMAC-SHA256 ${ok.cred}, SignedHeaders=host;host, ${ok.sig}` },
    { name: 'control character', header: `AWS4-HMAC-SHA256 ${ok.cred}, ${ok.sh},\u0000 ${ok.sig}` },
    { name: 'longer than 8 KiB', header: `AWS4-HMAC-SHA256 ${ok.cred}, SignedHeaders=host;${'x'.repeat(8200)}, ${ok.sig}`, mentions: '8192' },
  ];
  for (const row of rejected) {
    test(row.name, () => {
      const error = assertThrowsApiError(() => parseAuthorization(row.header), 'IncompleteSignatureException');
      if (row.mentions !== undefined) assert.match(error.message, new RegExp(row.mentions.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    });
  }
});

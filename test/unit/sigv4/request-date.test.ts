import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkClockSkew,
  parseIsoBasic,
  parseRfc1123,
  pickRequestDate,
  toIsoBasic,
} from '../../../src/auth/sigv4/request-date.js';
import { assertThrowsApiError } from './assert-api-error.js';

describe('parseIsoBasic', () => {
  const rows: Array<[string, string | undefined]> = [
    ['20150830T123600Z', '2015-08-30T12:36:00.000Z'],
    ['20160229T235959Z', '2016-02-29T23:59:59.000Z'],
    ['20150229T000000Z', undefined], // not a leap year
    ['20151301T000000Z', undefined],
    ['20150830T246000Z', undefined],
    ['20150830T126000Z', undefined],
    ['20150830T123660Z', undefined],
    ['20150830T123600', undefined],
    ['2015-08-30T12:36:00Z', undefined],
    [' 20150830T123600Z', undefined],
    ['20150830t123600z', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of rows) {
    test(JSON.stringify(input), () => assert.equal(parseIsoBasic(input)?.toISOString(), expected));
  }
});

describe('parseRfc1123', () => {
  const rows: Array<[string, string | undefined]> = [
    ['Fri, 01 Nov 2013 19:23:43 GMT', '2013-11-01T19:23:43.000Z'],
    ['Sun, 30 Aug 2015 12:36:00 GMT', '2015-08-30T12:36:00.000Z'],
    ['Sun, 30 Aug 2015 12:36:00 UTC', undefined],
    ['Sun, 31 Feb 2015 12:36:00 GMT', undefined],
    ['30 Aug 2015 12:36:00 GMT', undefined],
    ['Sunday, 30-Aug-15 12:36:00 GMT', undefined], // RFC 850 form
    ['Sun Aug 30 12:36:00 2015', undefined], // asctime form
    ['Sun, 30 aug 2015 12:36:00 GMT', undefined],
  ];
  for (const [input, expected] of rows) {
    test(JSON.stringify(input), () => assert.equal(parseRfc1123(input)?.toISOString(), expected));
  }
});

test('toIsoBasic drops separators and milliseconds', () => {
  assert.equal(toIsoBasic(new Date('2015-08-30T12:36:00.789Z')), '20150830T123600Z');
});

describe('pickRequestDate', () => {
  const rows: Array<{ name: string; headers: string[]; amzDate: string; source: 'x-amz-date' | 'date' }> = [
    { name: 'x-amz-date', headers: ['X-Amz-Date', '20150830T123600Z'], amzDate: '20150830T123600Z', source: 'x-amz-date' },
    {
      name: 'x-amz-date wins over Date',
      headers: ['Date', 'Fri, 01 Nov 2013 19:23:43 GMT', 'x-amz-date', '20150830T123600Z'],
      amzDate: '20150830T123600Z',
      source: 'x-amz-date',
    },
    {
      name: 'x-amz-date wins even over an unparseable Date',
      headers: ['Date', 'garbage', 'x-amz-date', '20150830T123600Z'],
      amzDate: '20150830T123600Z',
      source: 'x-amz-date',
    },
    { name: 'Date in ISO basic', headers: ['Date', '20150830T123600Z'], amzDate: '20150830T123600Z', source: 'date' },
    { name: 'Date in RFC 1123', headers: ['date', 'Fri, 01 Nov 2013 19:23:43 GMT'], amzDate: '20131101T192343Z', source: 'date' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const picked = pickRequestDate(['Host', 'h', ...row.headers]);
      assert.equal(picked.amzDate, row.amzDate);
      assert.equal(picked.source, row.source);
      assert.equal(toIsoBasic(picked.date), row.amzDate);
    });
  }

  const rejected: Array<{ name: string; headers: string[] }> = [
    { name: 'neither header', headers: ['Host', 'h'] },
    { name: 'x-amz-date in RFC 1123 (only ISO basic allowed)', headers: ['X-Amz-Date', 'Fri, 01 Nov 2013 19:23:43 GMT'] },
    { name: 'x-amz-date unparseable, Date fine', headers: ['X-Amz-Date', 'soon', 'Date', '20150830T123600Z'] },
    { name: 'Date unparseable', headers: ['Date', 'yesterday'] },
    { name: 'two x-amz-date headers', headers: ['X-Amz-Date', '20150830T123600Z', 'x-amz-date', '20150830T123600Z'] },
  ];
  for (const row of rejected) {
    test(`rejects: ${row.name}`, () => {
      assertThrowsApiError(() => pickRequestDate(row.headers), 'IncompleteSignatureException');
    });
  }
});

describe('checkClockSkew (15 minutes)', () => {
  const now = new Date('2015-08-30T12:36:00Z');
  const maxSkew = 15 * 60 * 1000;
  const minute = 60 * 1000;
  const rows: Array<{ offsetMinutes: number; ok: boolean }> = [
    { offsetMinutes: 0, ok: true },
    { offsetMinutes: 14, ok: true },
    { offsetMinutes: -14, ok: true },
    { offsetMinutes: 15, ok: true },
    { offsetMinutes: -15, ok: true },
    { offsetMinutes: 16, ok: false },
    { offsetMinutes: -16, ok: false },
    { offsetMinutes: 60 * 24 * 365, ok: false },
  ];
  for (const row of rows) {
    test(`${row.offsetMinutes} min: ${row.ok ? 'accepted' : 'RequestExpired'}`, () => {
      const requestDate = new Date(now.getTime() + row.offsetMinutes * minute);
      if (row.ok) checkClockSkew(requestDate, now, maxSkew);
      else {
        const error = assertThrowsApiError(() => checkClockSkew(requestDate, now, maxSkew), 'RequestExpired');
        assert.match(error.message, row.offsetMinutes < 0 ? /expired/ : /not yet current/);
      }
    });
  }
  test('one millisecond past the limit is rejected', () => {
    assertThrowsApiError(() => checkClockSkew(new Date(now.getTime() - maxSkew - 1), now, maxSkew), 'RequestExpired');
  });
});

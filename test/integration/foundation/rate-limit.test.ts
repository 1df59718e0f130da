/**
 * Per-account POST budgets (§2.5) with the default rates (2 creates/s), against the
 * applications resource reached by HAL. Timing: every assertion about a window is made
 * with wide margins, and skipped (with a note) if the machine was too slow to judge.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertAwsError } from '../../helpers/assert-error.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { SignedClient, type RawResponse } from '../../helpers/signed-client.js';
import { findApplicationsHref, findCreateApplicationHref, validApplicationBody } from './support.js';

const statuses = (rs: RawResponse[]) => rs.map((r) => r.status).join(',');

describe('rate limits (default 2 creates per second per account)', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ APPSTREAMD_LOG_LEVEL: 'warn' });
    assert.equal(server.settings.createApplicationRate, 2);
    assert.equal(server.settings.entitleSessionRate, 4);
  });
  after(async () => {
    await server.stop();
  });

  async function freshAccount(name: string): Promise<{ client: SignedClient; createHref: string }> {
    const client = new SignedClient(server.url, await server.app.accounts.createAccountWithKey(name));
    return { client, createHref: await findCreateApplicationHref(client) };
  }

  test('third create within a second → 429; a second later it passes; other accounts unaffected', async (t) => {
    const a = await freshAccount('throttle-a');
    const b = await freshAccount('throttle-b');
    const started = Date.now();
    const first = await a.client.postJson(a.createHref, validApplicationBody('a1'));
    const second = await a.client.postJson(a.createHref, validApplicationBody('a2'));
    const third = await a.client.postJson(a.createHref, validApplicationBody('a3'));
    const elapsed = Date.now() - started;
    assert.equal(first.status, 201, first.text);
    assert.equal(second.status, 201, second.text);
    if (elapsed < 900) {
      assertAwsError(third, 429, 'ThrottlingException');
      assert.equal(third.headers['retry-after'], '1', 'a one-second window never asks for a longer wait');
      // Account B has its own budget while A is throttled.
      const other = await b.client.postJson(b.createHref, validApplicationBody('b1'));
      assert.equal(other.status, 201, other.text);
    } else {
      t.diagnostic(`three POSTs took ${elapsed} ms; too slow to judge the window`);
    }
    await sleep(1100);
    const later = await a.client.postJson(a.createHref, validApplicationBody('a4'));
    assert.equal(later.status, 201, later.text);
  });

  test('GETs are never throttled', async () => {
    const { client, createHref } = await freshAccount('getter');
    const applicationsHref = await findApplicationsHref(client);
    // Exhaust the POST budget first: GETs must still pass.
    await Promise.all([1, 2, 3].map((i) => client.postJson(createHref, validApplicationBody(`g${i}`))));
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => client.get(i % 2 === 0 ? '/' : applicationsHref)));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(30).fill(200),
    );
  });

  test('429s do not count toward the window (sliding window)', async (t) => {
    const { client, createHref } = await freshAccount('sliding');
    const post = (name: string) => client.postJson(createHref, validApplicationBody(name));
    const okStart = Date.now();
    const ok = [await post('ok1'), await post('ok2')];
    const okEnd = Date.now();
    assert.deepEqual(ok.map((r) => r.status), [201, 201], statuses(ok));

    // Refused POSTs in the middle of the window: if they counted, they would hold the
    // window until about okEnd + 1.3 s.
    await sleep(300);
    const rejectedStart = Date.now();
    const rejected = [await post('no1'), await post('no2'), await post('no3')];
    const rejectedEnd = Date.now();
    if (rejectedEnd - okStart >= 950) {
      t.diagnostic(`too slow to judge (${rejectedEnd - okStart} ms); statuses ${statuses(rejected)}`);
      return;
    }
    for (const res of rejected) assertAwsError(res, 429, 'ThrottlingException');

    // The two allowed POSTs leave the window one second after they were counted (at most
    // okEnd + 1 s); the refused ones must not keep it full.
    await sleep(Math.max(0, okEnd + 1050 - Date.now()));
    const again = [await post('again1'), await post('again2')];
    const againEnd = Date.now();
    assert.deepEqual(again.map((r) => r.status), [201, 201], `after the window: ${statuses(again)}`);
    if (againEnd >= rejectedStart + 1000) t.diagnostic(`second pair finished ${againEnd - rejectedStart} ms after the refusals; weak check`);
  });
});

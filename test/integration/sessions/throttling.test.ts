/**
 * The documented entitle budget (§2.5): 4 POSTs per second per account, shared by all the
 * account's applications, with the default settings. The fifth → 429 ThrottlingException.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { SignedClient, type RawResponse } from '../../helpers/signed-client.js';
import { createActiveApplication, entitle, startHarness, type Harness } from './support.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the last second's budget has certainly refilled. */
const nextWindow = () => pause(1_200);

describe('entitle rate limit (default 4 per second)', () => {
  let h: Harness;
  let appA: any;
  let appB: any;

  before(async () => {
    // Defaults for the entitle rate; only capacity is raised so the limit under test is the rate.
    h = await startHarness({ env: { APPSTREAMD_SESSION_CAPACITY: '100' } });
    [appA, appB] = await Promise.all([createActiveApplication(h.client, h.packageUrl, 'a'), createActiveApplication(h.client, h.packageUrl, 'b')]);
  });

  after(async () => {
    await h.stop();
  });

  function split(results: RawResponse[]): { created: RawResponse[]; throttled: RawResponse[] } {
    return { created: results.filter((r) => r.status === 201), throttled: results.filter((r) => r.status === 429) };
  }

  test('the fifth entitle POST within a second → 429 ThrottlingException with Retry-After', async () => {
    await nextWindow();
    const results = await Promise.all(Array.from({ length: 5 }, () => entitle(h.client, appA, {})));
    const { created, throttled } = split(results);
    assert.equal(created.length, 4, `statuses ${results.map((r) => r.status).join(',')}`);
    assert.equal(throttled.length, 1);
    assertAwsError(throttled[0]!, 429, 'ThrottlingException');
  });

  test('one budget per account across its applications; another account has its own', async () => {
    await nextWindow();
    const results = await Promise.all([entitle(h.client, appA, {}), entitle(h.client, appA, {}), entitle(h.client, appB, {}), entitle(h.client, appB, {})]);
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201]);
    assertAwsError(await entitle(h.client, appB, {}), 429, 'ThrottlingException');
    // A different account is not throttled by this one's use (its POST is a 404: not its application).
    const keys = await h.server.app.accounts.createAccountWithKey('neighbour');
    const neighbour = new SignedClient(h.server.url, keys);
    assertAwsError(await entitle(neighbour, appA, {}), 404, 'ResourceNotFoundException');
  });

  test('rejected-by-validation POSTs count; throttled ones do not; the budget refills', async () => {
    await nextWindow();
    const invalid = await Promise.all(Array.from({ length: 4 }, () => entitle(h.client, appA, { expirationDuration: 0 })));
    for (const r of invalid) assertAwsError(r, 400, 'ValidationException');
    // Sent 0.4 s into the window: if 429s used budget they would block the next window too.
    await pause(400);
    const throttled = await Promise.all(Array.from({ length: 3 }, () => entitle(h.client, appA, {})));
    for (const r of throttled) assertAwsError(r, 429, 'ThrottlingException');
    // More than a second after the four 400s (their responses came after they were counted),
    // but less than a second after the 429s unless the machine is very slow.
    await pause(700);
    const results = await Promise.all(Array.from({ length: 4 }, () => entitle(h.client, appA, {})));
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201], results.map((r) => r.text).join('\n'));
  });
});

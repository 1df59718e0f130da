/**
 * Two appstreamd instances on one PostgreSQL database (and one Redis), sharing one data
 * folder, with requests alternating between them: the per-account POST budget holds for the
 * deployment, an entitlement URL is redeemed exactly once whichever instance gets it, and a
 * terminate answered by one instance kills the program the other one launched.
 */
import assert from 'node:assert/strict';
import { before, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { assertAwsError } from '../helpers/assert-error.js';
import { createApplication, applicationsCollection } from '../helpers/hal-flow.js';
import { href, rawRequest, SignedClient, type Credentials, type RawResponse } from '../helpers/signed-client.js';
import { activeApplication, entitle, redeem } from '../helpers/streaming.js';
import { onInstance, pidsOfSessions, requireBackends, scriptPackage, skipUnlessBackends, sleep, startCluster, waitUntil, type Cluster } from './support.js';

/** An installer URL nobody listens on: the build fails in the background, which these tests ignore. */
const CLOSED_INSTALLER = 'http://127.0.0.1:9/app.tar.gz';
const body = (name: string) => ({ name, installerUrl: CLOSED_INSTALLER, installerParameters: '', launchPath: 'bin/app' });

async function withCluster(count: number, options: Parameters<typeof startCluster>[1], fn: (c: Cluster) => Promise<void>): Promise<void> {
  const cluster = await startCluster(count, options);
  try {
    await fn(cluster);
  } finally {
    await cluster.stop();
  }
}

/**
 * Three creates for one account, alternating over `order` (instance base URLs), as fast as
 * possible: the first two pass, the third is 429 ThrottlingException (default budget 2/s).
 * When the machine was too slow to send all three inside the window, only the first two are judged.
 */
async function assertThirdThrottled(t: TestContext, credentials: Credentials, order: string[], label: string): Promise<void> {
  const clients = order.map((url) => new SignedClient(url, credentials));
  const createHref = href(await applicationsCollection(clients[0]!), 'application:create');
  const started = Date.now();
  const responses: RawResponse[] = [];
  for (const [i, client] of clients.entries()) responses.push(await client.postJson(createHref, body(`${label}-${i}`)));
  const elapsed = Date.now() - started;
  assert.equal(responses[0]!.status, 201, `${label} first: ${responses[0]!.text}`);
  assert.equal(responses[1]!.status, 201, `${label} second: ${responses[1]!.text}`);
  if (elapsed < 900) {
    assertAwsError(responses[2]!, 429, 'ThrottlingException');
  } else {
    t.diagnostic(`${label}: three POSTs took ${elapsed} ms; too slow to judge a one-second window`);
  }
}

describe('two instances on one PostgreSQL and one Redis', () => {
  before(requireBackends);

  test('the third create within a second is throttled whichever instance gets it (Redis limiter)', { skip: skipUnlessBackends }, async (t) => {
    await withCluster(2, {}, async ({ servers: [a, b] }) => {
      assert.equal(a!.settings.createApplicationRate, 2);
      // startServer made an account per instance; one account's key works on both (one store).
      await assertThirdThrottled(t, a!.credentials, [a!.url, b!.url, a!.url], 'A,B,A');
      const fresh = await a!.app.accounts.createAccountWithKey('scale-out-bab');
      await assertThirdThrottled(t, fresh, [b!.url, a!.url, b!.url], 'B,A,B');
      // The window slides: a second later the same account may create again, on either instance.
      await sleep(1100);
      const later = await createApplication(new SignedClient(a!.url, fresh), body('later'));
      assert.equal(later.status, 201, later.text);
    });
  });

  test('with only PostgreSQL (no Redis) the limit also holds across both instances', { skip: skipUnlessBackends }, async (t) => {
    await withCluster(2, { redis: false }, async ({ servers: [a, b], databaseUrl }) => {
      assert.equal(a!.settings.redisUrl, null);
      await assertThirdThrottled(t, a!.credentials, [a!.url, b!.url, a!.url], 'A,B,A');
      const fresh = await b!.app.accounts.createAccountWithKey('scale-out-pg-bab');
      await assertThirdThrottled(t, fresh, [b!.url, a!.url, b!.url], 'B,A,B');
      // The budget was counted in PostgreSQL (the rate_limits table), not in process memory.
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: string }>(`select count(*) as n from rate_limits where key like $1`, [`%${fresh.accountId}%`]);
        assert.ok(Number(rows[0]!.n) > 0, 'no rate-limit rows for the account in PostgreSQL');
      } finally {
        await client.end();
      }
    });
  });

  test('50 concurrent redemptions of one URL over both instances: exactly one succeeds', { skip: skipUnlessBackends }, async () => {
    const pkg = await scriptPackage('#!/bin/sh\nsleep 600\n');
    try {
      await withCluster(2, { env: { APPSTREAMD_CREATE_APPLICATION_RATE: '100', APPSTREAMD_ENTITLE_SESSION_RATE: '100' } }, async ({ servers: [a, b] }) => {
        const clientA = new SignedClient(a!.url, a!.credentials);
        const clientB = new SignedClient(b!.url, a!.credentials);
        const app = await activeApplication(clientA, { installerUrl: pkg.url, launchPath: 'bin/run.sh' });
        const session = await entitle(clientB, app);
        const bases = [a!.url, b!.url];
        const responses = await Promise.all(
          Array.from({ length: 50 }, (_, i) => {
            const target = new URL(onInstance(session.entitlementUrl as string, bases[i % 2]!));
            return rawRequest(target.origin, { method: 'POST', path: target.pathname, headers: { 'content-length': '0' } }).then((res) => ({ res, base: bases[i % 2]! }));
          }),
        );
        const winners = responses.filter((r) => r.res.status === 200);
        assert.equal(winners.length, 1, `statuses: ${responses.map((r) => r.res.status).join(',')}`);
        for (const r of responses) if (r.res.status !== 200) assertAwsError(r.res, 410, 'EntitlementExpiredException');
        // The stream lives on the instance that redeemed: its streamUrl names that instance.
        const winner = winners[0]!;
        assert.equal(winner.res.json.sessionId, session.id);
        assert.equal(new URL(winner.res.json.streamUrl as string).host, new URL(winner.base).host, 'streamUrl must name the redeeming instance');

        const ended = await clientA.putJson(href(session, 'session:terminate'), { state: 'Terminated' });
        assert.equal(ended.status, 200, ended.text);
        await waitUntil(() => pidsOfSessions([session.id as string]).length === 0, 10_000, () => `session ${session.id} processes to go`);
      });
    } finally {
      await pkg.close();
    }
  });

  test('a terminate sent to instance B kills the program launched by instance A within one second', { skip: skipUnlessBackends }, async () => {
    const pkg = await scriptPackage('#!/bin/sh\nsleep 600 &\nwait\n');
    try {
      await withCluster(2, { env: { APPSTREAMD_CREATE_APPLICATION_RATE: '100', APPSTREAMD_ENTITLE_SESSION_RATE: '100' } }, async ({ servers: [a, b] }) => {
        const clientA = new SignedClient(a!.url, a!.credentials);
        const clientB = new SignedClient(b!.url, a!.credentials);
        const app = await activeApplication(clientA, { installerUrl: pkg.url, launchPath: 'bin/run.sh' });
        const session = await entitle(clientA, app);
        const grant = await redeem(onInstance(session.entitlementUrl as string, a!.url));
        assert.equal(new URL(grant.streamUrl as string).host, new URL(a!.url).host);
        const id = session.id as string;
        // The script and its sleep child both carry the session id.
        await waitUntil(() => pidsOfSessions([id]).length >= 2, 10_000, () => `session ${id} program (and its child) to run`);
        assert.equal(a!.app.supervisor.liveCount, 1, 'A runs the program');
        assert.equal(b!.app.supervisor.liveCount, 0, 'B runs nothing');

        const res = await clientB.putJson(href(session, 'session:terminate'), { state: 'Terminated' });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.state, 'Terminated');
        const answered = Date.now();
        let left = pidsOfSessions([id]);
        while (left.length > 0 && Date.now() - answered < 1000) {
          await sleep(20);
          left = pidsOfSessions([id]);
        }
        assert.deepEqual(left, [], `processes of session ${id} still running ${Date.now() - answered} ms after B answered the terminate`);
        const after = await clientA.get(href(session, 'self'));
        assert.equal(after.json.endReason, 'TERMINATED_BY_API');
      });
    } finally {
      await pkg.close();
    }
  });
});

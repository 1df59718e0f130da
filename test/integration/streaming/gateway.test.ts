/**
 * The stream gateway refuses before upgrading, with AWS-shaped HTTP errors: a used connect
 * token (410), a bogus one (401), an expired one (410, via the server's injected clock), a
 * foreign Origin (403), an unknown session (404); and a second redemption is 410.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { rawRequest } from '../../helpers/signed-client.js';
import {
  attach,
  entitle,
  redeem,
  refusedUpgrade,
  startStreamHarness,
  streamTarget,
  WAIT_MS,
  type StreamHarness,
} from './support.js';

const SCRIPT = '#!/bin/sh\necho GATEWAY-READY\nwhile IFS= read -r line; do echo "GOT:$line"; done\n';

describe('stream gateway refusals', { timeout: 180_000 }, () => {
  let h: StreamHarness;
  let app: any;
  /** The server's clock runs this far ahead of the real one (expired-token test). */
  let skewMs = 0;

  before(async () => {
    h = await startStreamHarness({ now: () => new Date(Date.now() + skewMs) });
    app = await h.terminalApp(SCRIPT);
  });

  after(async () => {
    await h?.stop();
  });

  async function liveGrant(): Promise<any> {
    const session = await entitle(h.client, app);
    return { ...(await redeem(session.entitlementUrl)), session };
  }

  test('a used connect token is refused with 410 before the upgrade', async () => {
    const grant = await liveGrant();
    const first = await attach(grant);
    try {
      await first.waitFor(/GATEWAY-READY/, WAIT_MS);
      const res = await refusedUpgrade(streamTarget(grant, grant.connectToken));
      assertAwsError(res, 410, 'EntitlementExpiredException');
      // The refused replay did not disturb the attached client.
      first.ws.send(Buffer.from('still here\r'), { binary: true });
      await first.waitFor(/GOT:still here/, WAIT_MS);
    } finally {
      first.ws.terminate();
    }
  });

  test('a bogus token is 401 and a missing token is 401', async () => {
    const grant = await liveGrant();
    assertAwsError(await refusedUpgrade(streamTarget(grant, randomBytes(32).toString('base64url'))), 401, 'InvalidConnectTokenException');
    assertAwsError(await refusedUpgrade(grant.streamUrl), 401, 'InvalidConnectTokenException');
    // The real token still works afterwards.
    const stream = await attach(grant);
    try {
      await stream.waitFor(/GATEWAY-READY/, WAIT_MS);
    } finally {
      stream.ws.terminate();
    }
  });

  test('an expired connect token is 410', async () => {
    const grant = await liveGrant();
    skewMs += 31_000; // past the 30 s lifetime of a connect token, on the server's clock
    try {
      const res = await refusedUpgrade(streamTarget(grant, grant.connectToken));
      assertAwsError(res, 410, 'EntitlementExpiredException');
    } finally {
      skewMs -= 31_000;
    }
  });

  test('a foreign Origin is 403 and does not burn the token', async () => {
    const grant = await liveGrant();
    const res = await refusedUpgrade(streamTarget(grant, grant.connectToken), { Origin: 'https://evil.example' });
    assertAwsError(res, 403, 'AccessDeniedException');
    const stream = await attach(grant);
    try {
      await stream.waitFor(/GATEWAY-READY/, WAIT_MS);
    } finally {
      stream.ws.terminate();
    }
  });

  test('an unknown session id is 404; so is a path that is not a session id', async () => {
    const grant = await liveGrant();
    const base = new URL(grant.streamUrl);
    const unknown = `${base.protocol}//${base.host}/stream/${randomUUID()}?token=${encodeURIComponent(grant.connectToken)}`;
    assertAwsError(await refusedUpgrade(unknown), 404, 'ResourceNotFoundException');
    const notAnId = `${base.protocol}//${base.host}/stream/not-a-session?token=${encodeURIComponent(grant.connectToken)}`;
    assertAwsError(await refusedUpgrade(notAnId), 404, 'ResourceNotFoundException');
  });

  test('a second redemption POST is 410 EntitlementExpiredException', async () => {
    const grant = await liveGrant();
    const url = new URL(grant.session.entitlementUrl);
    const again = await rawRequest(url.origin, { method: 'POST', path: url.pathname, headers: { 'content-length': '0', accept: 'application/json' } });
    assertAwsError(again, 410, 'EntitlementExpiredException');
    // The first grant is untouched by the refused second redemption.
    const stream = await attach(grant);
    try {
      await stream.waitFor(/GATEWAY-READY/, WAIT_MS);
    } finally {
      stream.ws.terminate();
    }
  });
});

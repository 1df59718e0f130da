/**
 * The viewer's answers when a link cannot start a session, in a real browser: a link
 * already redeemed (opened again in a fresh browser context), an expired link (the
 * server's clock moved past the expiry), an unknown link; and the one case that must NOT
 * fail: reloading a redeemed page in the same tab resumes the same session.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { href } from '../helpers/signed-client.js';
import type { PageGlobals } from './page-globals.js';
import { browserSkipReason, eventually, launchBrowser, noticeText, startE2e, terminalText, waitForState, viewerState, type E2eHarness } from './support.js';

const SCRIPT = `#!/bin/sh
echo "NEGATIVE-MARKER ready"
n=0
while IFS= read -r line; do
  n=$((n+1))
  echo "echo#$n:$line"
done
`;

const skip = browserSkipReason();

describe('viewer: used, expired and unknown links; reload', { skip }, () => {
  let h: E2eHarness;
  let browser: Browser;
  /** The server's clock runs this far ahead of the real one. */
  let clockOffsetMs = 0;

  before(async () => {
    h = await startE2e({ script: SCRIPT, now: () => new Date(Date.now() + clockOffsetMs) });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  test('a link opened again in a fresh browser context after it was redeemed shows "already used or expired"', async () => {
    const session = await h.entitle();
    const first = await browser.newContext();
    const second = await browser.newContext();
    try {
      const page = await first.newPage();
      await page.goto(session.entitlementUrl);
      await waitForState(page, 'running');

      const again = await second.newPage();
      await again.goto(session.entitlementUrl);
      await waitForState(again, 'expired');
      assert.match(await noticeText(again), /already been used or has expired/);
      // The first viewer is unaffected.
      assert.equal(await viewerState(page), 'running');
      assert.equal((await h.terminate(session)).status, 200);
    } finally {
      await first.close();
      await second.close();
    }
  });

  test('reloading a redeemed page in the same tab resumes the same session', async () => {
    const session = await h.entitle();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(session.entitlementUrl);
      await waitForState(page, 'running');
      await eventually('the marker', async () => /NEGATIVE-MARKER ready/.test(await terminalText(page)));
      await page.keyboard.type('first');
      await page.keyboard.press('Enter');
      await eventually('the first echo', async () => /echo#1:first/.test(await terminalText(page)));

      await page.reload();
      await waitForState(page, 'running');
      await page.keyboard.type('second');
      await page.keyboard.press('Enter');
      // The count goes on: the same program answered, no second session was started.
      await eventually('the second echo', async () => /echo#2:second/.test(await terminalText(page)));
      const status = await h.client.get(href(session, 'session:status'));
      assert.equal(status.status, 200, status.text);
      assert.equal(status.json.state, 'Active');

      // Once the session has ended, a reload says so instead of offering a dead session.
      assert.equal((await h.terminate(session)).status, 200);
      await waitForState(page, 'ended');
      await page.reload();
      await waitForState(page, 'ended');
      assert.match(await noticeText(page), /session has ended/i);
    } finally {
      await context.close();
    }
  });

  test('a duplicated tab takes the session over; the first tab says so and can take it back', async () => {
    const session = await h.entitle();
    const context = await browser.newContext();
    try {
      const first = await context.newPage();
      await first.goto(session.entitlementUrl);
      await waitForState(first, 'running');
      await eventually('the marker', async () => /NEGATIVE-MARKER ready/.test(await terminalText(first)));

      // A duplicated tab starts with a copy of the tab's sessionStorage (the resume secret).
      const saved = await first.evaluate(() => JSON.stringify(Object.entries((globalThis as unknown as PageGlobals).sessionStorage)));
      const second = await context.newPage();
      await second.addInitScript((entries) => {
        for (const [k, v] of JSON.parse(entries) as [string, string][]) (globalThis as unknown as PageGlobals).sessionStorage.setItem(k, v);
      }, saved);
      await second.goto(session.entitlementUrl);
      await waitForState(second, 'running');
      await waitForState(first, 'replaced');
      assert.match(await noticeText(first), /another window/);
      await second.keyboard.type('from the second tab');
      await second.keyboard.press('Enter');
      await eventually('the echo in the second tab', async () => /echo#1:from the second tab/.test(await terminalText(second)));

      // Taking it back is a click, not an automatic fight between the two tabs.
      await first.click('#notice-action');
      await waitForState(first, 'running');
      await waitForState(second, 'replaced');
      await first.keyboard.type('back in the first');
      await first.keyboard.press('Enter');
      await eventually('the echo in the first tab', async () => /echo#2:back in the first/.test(await terminalText(first)));
      assert.equal((await h.terminate(session)).status, 200);
      await waitForState(first, 'ended');
    } finally {
      await context.close();
    }
  });

  test('an unknown link shows "not valid"', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${h.server.url}/entitlements/${'A'.repeat(43)}`);
      await waitForState(page, 'invalid');
      assert.match(await noticeText(page), /not valid/);
    } finally {
      await context.close();
    }
  });

  // Last: it moves the server's clock forward for the rest of the file.
  test('a link past its expiry shows the expired page', async () => {
    const session = await h.entitle({ expirationDuration: 1 });
    clockOffsetMs = 2 * 60_000;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(session.entitlementUrl);
      await waitForState(page, 'expired');
      assert.match(await noticeText(page), /already been used or has expired/);
    } finally {
      await context.close();
    }
  });
});

/**
 * The viewer in a real browser (Debian Chromium, headless) for a terminal program: the
 * entitlement URL shows the program's output, typed lines reach it and its answers are
 * drawn, a dropped WebSocket is resumed in place, and terminating the session through the
 * API shows the session-ended message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { PageGlobals } from './page-globals.js';
import {
  browserSkipReason,
  connections,
  dropSocket,
  eventually,
  launchBrowser,
  noticeText,
  resultsPath,
  startE2e,
  terminalText,
  waitForConnections,
  waitForState,
  type E2eHarness,
} from './support.js';

/** Prints a marker, then answers each line with a running count (so one program is provable). */
const SCRIPT = `#!/bin/sh
echo "APPSTREAM-MARKER-7F3A ready"
n=0
while IFS= read -r line; do
  n=$((n+1))
  echo "echo#$n:$line"
done
`;

const skip = browserSkipReason();

/** What the person sees: the text of xterm's DOM rows. */
function visibleRows(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector('.xterm-rows')?.innerText ?? '');
}

describe('terminal viewer in Chromium', { skip }, () => {
  let h: E2eHarness;
  let browser: Browser;

  before(async () => {
    h = await startE2e({ script: SCRIPT });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  test('shows the program, carries typed lines both ways, and shows the end when the session is terminated', async () => {
    const session = await h.entitle();
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
    try {
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(session.entitlementUrl);
      await waitForState(page, 'running');
      await eventually('the marker in the xterm rows', async () => /APPSTREAM-MARKER-7F3A ready/.test(await visibleRows(page)));

      // The terminal fills the window rather than staying at xterm's default 80×24.
      const size = await page.evaluate(() => {
        const browser = globalThis as unknown as PageGlobals;
        const term = browser.appstreamTerminal!;
        const grid = browser.document.querySelector('.xterm-screen')!.getBoundingClientRect();
        return { cols: term.cols, rows: term.rows, width: grid.width, height: grid.height };
      });
      assert.ok(size.rows > 24 && size.cols > 80, `fitted to the window: ${JSON.stringify(size)}`);
      assert.ok(size.width <= 1000 && size.height <= 640, `the grid fits inside the window: ${JSON.stringify(size)}`);

      // Keyboard focus is on the terminal without a click.
      await page.keyboard.type('hello from the browser');
      await page.keyboard.press('Enter');
      await eventually('the echo in the xterm rows', async () => /echo#1:hello from the browser/.test(await visibleRows(page)));
      assert.match(await terminalText(page), /echo#1:hello from the browser/);
      await page.screenshot({ path: resultsPath('terminal-viewer.png') });

      const ended = await h.terminate(session);
      assert.equal(ended.status, 200, ended.text);
      await waitForState(page, 'ended');
      assert.match(await noticeText(page), /session has ended/i);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('after the WebSocket drops, the viewer resumes and the same program keeps answering', async () => {
    const session = await h.entitle();
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    try {
      const page = await context.newPage();
      await page.goto(session.entitlementUrl);
      await waitForState(page, 'running');
      await eventually('the marker', async () => /APPSTREAM-MARKER-7F3A/.test(await terminalText(page)));
      await page.keyboard.type('before the drop');
      await page.keyboard.press('Enter');
      await eventually('the first echo', async () => /echo#1:before the drop/.test(await terminalText(page)));
      assert.equal(await connections(page), 1);

      // Drop the connection from the page's side; the viewer gets a new connect token
      // with its resume secret and attaches again.
      await dropSocket(page);
      await waitForConnections(page, 2);

      await page.keyboard.type('after the drop');
      await page.keyboard.press('Enter');
      // The count goes on: the same program, not a new one.
      await eventually('the second echo', async () => /echo#2:after the drop/.test(await terminalText(page)));
      const text = await terminalText(page);
      assert.match(text, /echo#1:before the drop/, 'the earlier output is still on screen');
      assert.equal(text.match(/APPSTREAM-MARKER-7F3A/g)?.length, 1, 'the program was not started again');
      assert.equal((await h.terminate(session)).status, 200);
      await waitForState(page, 'ended');
    } finally {
      await context.close();
    }
  });
});

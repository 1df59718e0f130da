/**
 * The viewer in a real browser for an x11 program: noVNC (served as ES modules by
 * appstreamd) shows what the program draws on its Xvnc, scaled to the window, and a
 * click and a key press made on the page reach the program. The program is xev in a
 * window over a coloured root; it logs the events it gets to a file in its home.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { PageCanvas, PageGlobals } from './page-globals.js';
import {
  browserSkipReason,
  connections,
  dropSocket,
  eventually,
  launchBrowser,
  noticeText,
  resultsPath,
  startE2e,
  waitForConnections,
  waitForState,
  type E2eHarness,
} from './support.js';

/**
 * A full-screen xlogo on #3366cc (white logo) under a white 600×400 xev window at (100,100)
 * that logs keys and buttons. Tools from x11-apps and x11-utils only; xev is started once
 * xlogo is mapped, so it stacks on top (there is no window manager).
 */
const SCRIPT = `#!/bin/sh
xlogo -geometry 1024x768+0+0 -bg '#3366cc' -fg white &
i=0
until xwininfo -name xlogo >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
exec xev -geometry 600x400+100+100 -event keyboard -event button > "$HOME/events.log" 2>&1
`;

const skip = browserSkipReason() ?? (['Xvnc', 'xev', 'xlogo', 'xwininfo'].every((tool) => existsSync(`/usr/bin/${tool}`))
  ? undefined
  : 'Xvnc, xev, xlogo or xwininfo is missing (Debian packages tigervnc-standalone-server, x11-apps, x11-utils)');

interface CanvasInfo { width: number; height: number; left: number; top: number; shownWidth: number; shownHeight: number }

function canvasInfo(page: Page): Promise<CanvasInfo | null> {
  return page.evaluate(() => {
    const canvas = (globalThis as unknown as PageGlobals).document.querySelector('#screen canvas') as PageCanvas | null;
    if (!canvas || !canvas.width) return null;
    const r = canvas.getBoundingClientRect();
    return { width: canvas.width, height: canvas.height, left: r.left, top: r.top, shownWidth: r.width, shownHeight: r.height };
  });
}

/** The RGB of the remote framebuffer at (x, y), read from noVNC's canvas. */
function pixel(page: Page, x: number, y: number): Promise<[number, number, number]> {
  return page.evaluate(([px, py]) => {
    const canvas = (globalThis as unknown as PageGlobals).document.querySelector('#screen canvas') as PageCanvas;
    const d = canvas.getContext('2d')!.getImageData(px!, py!, 1, 1).data;
    return [d[0]!, d[1]!, d[2]!] as [number, number, number];
  }, [x, y]);
}

const near = (a: number[], b: number[], tolerance = 12) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);

describe('x11 viewer in Chromium', { skip }, () => {
  let h: E2eHarness;
  let browser: Browser;

  before(async () => {
    h = await startE2e({ script: SCRIPT, streamProtocol: 'x11' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await h?.stop();
  });

  test('shows the program scaled to the window; a click and a key press reach it; a drop is resumed; terminate shows the end', async () => {
    const session = await h.entitle();
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
    try {
      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(session.entitlementUrl);
      await waitForState(page, 'running', 30_000);

      const info = await eventually('the noVNC canvas at the desktop size', () => canvasInfo(page).then((c) => (c && c.width === 1024 ? c : null)));
      assert.equal(info.height, 768);
      // Scaled down to fit the 1000×640 window, aspect ratio kept.
      assert.ok(info.shownWidth <= 1000.5 && info.shownHeight <= 640.5, `canvas fits the window: ${JSON.stringify(info)}`);
      assert.ok(Math.abs(info.shownWidth / info.shownHeight - 1024 / 768) < 0.01, `aspect kept: ${JSON.stringify(info)}`);
      assert.ok(info.shownHeight > 600, `the canvas fills the window height: ${JSON.stringify(info)}`);

      // What the program drew: xlogo's blue background and the white xev window.
      await eventually("xlogo's background", async () => near(await pixel(page, 1010, 384), [0x33, 0x66, 0xcc]));
      await eventually('the xev window', async () => near(await pixel(page, 400, 300), [255, 255, 255]));
      await page.screenshot({ path: resultsPath('x11-viewer.png') });

      // A click at remote (400, 300), through the scaled canvas.
      const scale = info.shownWidth / info.width;
      await page.mouse.click(info.left + 400 * scale, info.top + 300 * scale);
      const log = path.join(h.sessionHome(session.id), 'events.log');
      const press = await eventually('the ButtonPress in the program', () => {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        return /ButtonPress event[^]*?root:\((\d+),(\d+)\)[^]*?button 1,/.exec(text);
      });
      assert.ok(Math.abs(Number(press[1]) - 400) <= 3 && Math.abs(Number(press[2]) - 300) <= 3, `clicked at ${press[1]},${press[2]}`);

      // The click focused the canvas, so keys go to the program.
      await page.keyboard.press('q');
      await eventually('the KeyPress in the program', () => /KeyPress event[^]*?keysym 0x71, q\)/.test(existsSync(log) ? readFileSync(log, 'utf8') : ''));

      // A dropped WebSocket: the viewer resumes with a fresh noVNC connection to the same program.
      assert.equal(await connections(page), 1);
      await dropSocket(page);
      await waitForConnections(page, 2);
      await eventually('the xev window after the reconnect', async () => near(await pixel(page, 400, 300), [255, 255, 255]));
      await page.mouse.click(info.left + 200 * scale, info.top + 150 * scale, { button: 'right' });
      await eventually('a button-3 press after the reconnect', () => /ButtonPress event[^]*?button 3,/.test(readFileSync(log, 'utf8')));

      assert.equal((await h.terminate(session)).status, 200);
      await waitForState(page, 'ended');
      assert.match(await noticeText(page), /session has ended/i);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  });
});

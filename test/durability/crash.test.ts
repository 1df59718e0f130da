/**
 * kill -9 mid-burst, ten times over one data folder: after each restart every acknowledged
 * application and session is there, no record is half-made, interrupted builds resume to
 * Active/Error, live sessions of the killed process end SERVER_RESTART and their programs
 * are gone from /proc.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { href, rawRequest, SignedClient, type RawResponse } from '../helpers/signed-client.js';
import { killSessionPrograms, ROOT, serverEnv, sessionProgramPids, sleep, startPackages, startServerProcess, waitUntil, type Packages, type ServerProcess } from './support.js';

const ITERATIONS = 10;
const APP_STATES = new Set(['New', 'Building', 'Active', 'Error', 'Archived']);
const SESSION_STATES = new Set(['Entitled', 'Reserved', 'Active', 'Terminating', 'Completed', 'Terminated']);

async function ok(client: SignedClient, target: string): Promise<any> {
  const res = await client.get(target);
  assert.equal(res.status, 200, `GET ${target}: ${res.status} ${res.text}`);
  return res.json;
}

/** Every item href of a paged collection, following `next`. */
async function allItems(client: SignedClient, first: string): Promise<string[]> {
  const out: string[] = [];
  let page = await ok(client, first);
  for (;;) {
    out.push(...((page._links.item ?? []) as { href: string }[]).map((l) => l.href));
    if (!page._links.next) return out;
    page = await ok(client, page._links.next.href);
  }
}

async function redeem(entitlementUrl: string): Promise<any> {
  const url = new URL(entitlementUrl);
  const res = await rawRequest(url.origin, { method: 'POST', path: url.pathname, headers: { 'content-length': '0' } });
  assert.equal(res.status, 200, `redeem: ${res.text}`);
  return res.json;
}

describe('kill -9 mid-burst, restart on the same data folder', () => {
  let work: string;
  let dataDir: string;
  let packages: Packages;
  let proc: ServerProcess | undefined;
  const everySession = new Set<string>();

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-crash-'));
    // Its own temp folder: session programs run as other uids and must traverse its parent.
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-crash-data-'));
    packages = await startPackages(work);
  });

  after(async () => {
    await proc?.kill();
    killSessionPrograms(everySession);
    await packages.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(`${ITERATIONS} crashes lose nothing acknowledged and leave nothing half-done`, { timeout: 170_000 }, async () => {
    let started = await startServerProcess(serverEnv(dataDir));
    proc = started.proc;
    let client = new SignedClient(started.url, ROOT);
    const collectionHref = href(await ok(client, '/'), 'appstream:applications');
    const createHref = href(await ok(client, collectionHref), 'application:create');
    const body = { installerParameters: '', launchPath: 'bin/run.sh' };

    // The Active application every iteration entitles and redeems on.
    packages.release();
    const created = await client.postJson(createHref, { ...body, name: 'target', installerUrl: packages.fastUrl });
    assert.equal(created.status, 201, created.text);
    const appHref = href(created.json, 'self');
    await waitUntil('the target application to be Active', async () => (await ok(client, href(created.json, 'application:status'))).state === 'Active', 60_000);
    const target = await ok(client, appHref);

    const acknowledgedApps = new Map<string, string>(); // id -> self href
    const acknowledgedSessions = new Map<string, string>();
    let seededIds = 0;

    for (let iteration = 1; iteration <= ITERATIONS; iteration++) {
      packages.hold();
      // Two live programs of this process.
      const live: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await client.postJson(href(target, 'session:entitle'), {});
        assert.equal(res.status, 201, res.text);
        everySession.add(res.json.id);
        acknowledgedSessions.set(res.json.id, href(res.json, 'self'));
        await redeem(res.json.entitlementUrl);
        live.push(res.json.id);
      }
      await waitUntil('both programs to run', () => sessionProgramPids(live).size === 2, 20_000);

      // The burst: workers loop creates (half held mid-download) and entitles until the kill.
      let killed = false;
      const slowBefore = packages.slowArrivals();
      let acknowledged = 0;
      const worker = async (w: number) => {
        for (let n = 0; !killed; n++) {
          let res: RawResponse;
          const kind = (w + n) % 3;
          try {
            if (kind === 2) res = await client.postJson(href(target, 'session:entitle'), { opaqueData: `i${iteration}` });
            else res = await client.postJson(createHref, { ...body, name: `burst ${iteration}.${w}.${n}`, installerUrl: kind === 0 ? packages.slowUrl : packages.fastUrl });
          } catch {
            return; // refused or reset by the kill: not acknowledged
          }
          if (res.status === 201) {
            acknowledged++;
            seededIds++;
            const map = kind === 2 ? acknowledgedSessions : acknowledgedApps;
            map.set(res.json.id, href(res.json, 'self'));
            if (kind === 2) everySession.add(res.json.id);
          } else {
            assert.fail(`burst request answered ${res.status}: ${res.text}`);
          }
        }
      };
      const workers = Promise.all([0, 1, 2, 3, 4, 5].map(worker));
      await waitUntil('the burst to be mid-flight', () => acknowledged >= 6 && packages.slowArrivals() > slowBefore, 30_000);
      await sleep(iteration * 7); // vary the moment of the kill inside the burst
      await proc.kill();
      killed = true;
      await workers;
      const orphansBefore = sessionProgramPids(live);
      assert.equal(orphansBefore.size, 2, 'the programs outlived the SIGKILLed server (so the sweep has work to do)');

      started = await startServerProcess(serverEnv(dataDir));
      proc = started.proc;
      client = new SignedClient(started.url, ROOT);
      packages.release();

      // Every acknowledged record is there, reached through HAL by id.
      const collection = await ok(client, collectionHref);
      for (const id of acknowledgedApps.keys()) await ok(client, href(collection, 'application:by-id', { application_id: id }));
      for (const id of acknowledgedSessions.keys()) await ok(client, href(target, 'session:by-id', { session_id: id }));

      // Live sessions of the killed process ended SERVER_RESTART and their programs are gone.
      for (const id of live) {
        const session = await ok(client, href(target, 'session:by-id', { session_id: id }));
        const status = await ok(client, href(session, 'session:status'));
        assert.ok(['Completed', 'Terminated'].includes(status.state), `session ${id} is ${status.state} after the restart`);
        assert.equal(session.endReason, 'SERVER_RESTART', `session ${id} ended ${session.endReason}`);
      }
      await waitUntil('orphan programs to be gone', () => sessionProgramPids(live).size === 0, 10_000);

      // No session anywhere is still live from the killed process.
      for (const itemHref of await allItems(client, href(target, 'application:sessions'))) {
        const session = await ok(client, itemHref);
        const status = await ok(client, href(session, 'session:status'));
        assert.ok(SESSION_STATES.has(status.state), `session ${session.id} has state ${status.state}`);
        assert.ok(!['Reserved', 'Active', 'Terminating'].includes(status.state), `session ${session.id} stuck ${status.state}`);
      }

      // Every application has a valid state, settles (no build stuck), and its error count matches its records.
      for (const itemHref of await allItems(client, collectionHref)) {
        const app = await ok(client, itemHref);
        let status = await ok(client, href(app, 'application:status'));
        assert.ok(APP_STATES.has(status.state), `application ${app.id} has state ${status.state}`);
        await waitUntil(`application ${app.id} to leave ${status.state}`, async () => {
          status = await ok(client, href(app, 'application:status'));
          return status.state !== 'New' && status.state !== 'Building';
        }, 60_000);
        assert.ok(['Active', 'Error'].includes(status.state), `application ${app.id} settled ${status.state}`);
        const fresh = await ok(client, itemHref);
        const errors = await allItems(client, href(fresh, 'application:errors'));
        assert.equal(fresh.applicationErrorCount, errors.length, `application ${app.id}: applicationErrorCount vs error records`);
      }
    }
    assert.ok(seededIds >= ITERATIONS * 6, `bursts acknowledged ${seededIds} records`);
  });
});

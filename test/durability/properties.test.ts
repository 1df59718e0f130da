/**
 * Property tests (fast-check) for the body validators: any JSON object either passes or is
 * refused with an ApiError ValidationException (nothing else is ever thrown); generated valid
 * bodies always pass; launchCommand splitting and joining agree. The entitle body rules live
 * in the route, so they are exercised over HTTP against a real server.
 */
import assert from 'node:assert/strict';
import { assertAwsError } from '../helpers/assert-error.js';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { joinLaunchCommand, splitLaunchCommand, validateCreate, validateUpdate } from '../../src/api/applications/validation.js';
import { ApiError } from '../../src/errors/api-error.js';
import type { JsonObject, JsonValue } from '../../src/http/types.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { href, SignedClient } from '../helpers/signed-client.js';

const RUNS = 400;

/** What the body decoder hands a validator: JSON without nulls (they are removed). */
function withoutNulls(value: JsonValue): JsonValue | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(withoutNulls).filter((v): v is JsonValue => v !== undefined);
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = withoutNulls(v);
      if (kept !== undefined) out[k] = kept;
    }
    return out;
  }
  return value;
}

const CREATE_FIELDS = ['name', 'description', 'installerUrl', 'installerParameters', 'launchPath', 'launchParameters', 'launchCommand', 'logBucket', 'logPaths', 'streamProtocol'];

/** Plausible-to-hostile values for the known fields, so the validators' branches are reached. */
const fieldValue: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 250, maxLength: 2100 }),
  fc.constantFrom('terminal', 'x11', 'ssh', 'bin/run.sh', '"C:\\Program Files\\app.exe" -x', 'http://example.com/p.zip', 'file:///tmp/p.tgz', 'ftp://x/y', 'logs-bucket', 'C:\\logs\\a.log', '   ', ''),
  fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('C:\\a.log', 'c:\\x\\y', 'D:\\no'), fc.integer()), { maxLength: 25 }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>,
);

const hostileBody: fc.Arbitrary<JsonObject> = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...CREATE_FIELDS), fieldValue, { maxKeys: CREATE_FIELDS.length }),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>, { maxKeys: 4 }),
  )
  .map(([known, extra]) => withoutNulls({ ...extra, ...known }) as JsonObject);

function onlyValidationErrors(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ApiError, `threw a non-ApiError: ${String(err)}`);
    assert.equal(err.code, 'ValidationException', err.message);
    assert.ok(err.message.length > 0);
  }
}

// Valid field generators (the documented rules, §3.3).
const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);
const text = (min: number, max: number) => fc.string({ minLength: min, maxLength: max, unit: 'grapheme-ascii' }).filter(noControl);
const notBlank = (min: number, max: number) => text(min, max).filter((s) => s.trim() !== '');
/**
 * An executable path: no whitespace at its ends and no double quote (a Windows path cannot hold
 * one; a path with both a space and a quote has no unambiguous launchCommand form).
 */
const launchPathArb = notBlank(1, 60).filter((s) => s === s.trim() && !s.includes('"'));
const launchParametersArb = text(0, 80).map((s) => s.trim());
const bucketArb = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/);
const logPathArb = text(0, 40).filter((s) => !/[<>"|?]/.test(s)).map((s) => `C:\\${s}`);

const validCreate = fc
  .record({
    name: notBlank(1, 100),
    description: fc.option(fc.string({ maxLength: 256 }), { nil: undefined }),
    installerUrl: fc.webUrl().filter((u) => u.length <= 2048),
    installerParameters: text(0, 100),
    launchPath: launchPathArb,
    launchParameters: launchParametersArb,
    useCommand: fc.boolean(),
    logBucket: fc.option(bucketArb, { nil: undefined }),
    logPaths: fc.array(logPathArb, { maxLength: 3 }),
    streamProtocol: fc.option(fc.constantFrom('terminal', 'x11'), { nil: undefined }),
  })
  .map((r) => {
    const body: JsonObject = { name: r.name, installerUrl: r.installerUrl, installerParameters: r.installerParameters };
    if (r.description !== undefined) body['description'] = r.description;
    if (r.useCommand) body['launchCommand'] = joinLaunchCommand(r.launchPath, r.launchParameters);
    else Object.assign(body, { launchPath: r.launchPath, launchParameters: r.launchParameters });
    if (r.logBucket !== undefined) Object.assign(body, { logBucket: r.logBucket, logPaths: r.logPaths });
    if (r.streamProtocol !== undefined) body['streamProtocol'] = r.streamProtocol;
    return { body, expected: r };
  });

describe('body validator properties', () => {
  test('validateCreate: any JSON object passes or is a ValidationException', () => {
    fc.assert(
      fc.property(hostileBody, fc.boolean(), (body, allowFileUrls) => onlyValidationErrors(() => validateCreate(body, { allowFileUrls }))),
      { numRuns: RUNS * 2 },
    );
  });

  test('validateUpdate: any JSON object passes or is a ValidationException', () => {
    const current = fc.record({ logBucket: fc.option(bucketArb, { nil: null }), logPaths: fc.array(logPathArb, { maxLength: 2 }) });
    fc.assert(fc.property(hostileBody, current, (body, cur) => onlyValidationErrors(() => validateUpdate(body, cur))), { numRuns: RUNS * 2 });
  });

  test('valid create bodies pass and keep their values', () => {
    fc.assert(
      fc.property(validCreate, fc.boolean(), ({ body, expected }, allowFileUrls) => {
        const out = validateCreate(body, { allowFileUrls });
        assert.equal(out.name, expected.name);
        assert.equal(out.installerUrl, expected.installerUrl);
        assert.equal(out.launchPath, expected.launchPath);
        assert.equal(out.launchParameters, expected.launchParameters);
        assert.equal(out.logBucket, expected.logBucket ?? null);
        assert.deepEqual(out.logPaths, expected.logBucket !== undefined ? expected.logPaths : []);
        assert.equal(out.streamProtocol, expected.streamProtocol ?? 'terminal');
        assert.equal(out.description, expected.description === undefined || expected.description === '' ? null : expected.description);
      }),
      { numRuns: RUNS },
    );
  });

  test('valid update bodies pass and the patch holds exactly the given fields', () => {
    const update = fc.record(
      { name: notBlank(1, 100), description: fc.string({ maxLength: 256 }), launchPath: launchPathArb, launchParameters: launchParametersArb, streamProtocol: fc.constantFrom('terminal', 'x11') },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(update, (body) => {
        const patch = validateUpdate(body as JsonObject, { logBucket: null, logPaths: [] });
        for (const [k, v] of Object.entries(body)) {
          const expected = k === 'description' && v === '' ? null : v;
          assert.equal((patch as Record<string, unknown>)[k], expected, k);
        }
        assert.deepEqual(Object.keys(patch).sort(), Object.keys(body).sort());
      }),
      { numRuns: RUNS },
    );
  });

  test('launchCommand: split(join(path, parameters)) gives them back', () => {
    fc.assert(
      fc.property(launchPathArb, launchParametersArb, (launchPath, launchParameters) => {
        const joined = joinLaunchCommand(launchPath, launchParameters);
        assert.deepEqual(splitLaunchCommand(joined), { launchPath, launchParameters });
        // And joining what a split gives is stable (the derived form is canonical).
        const split = splitLaunchCommand(joined);
        assert.equal(joinLaunchCommand(split.launchPath, split.launchParameters), joined);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('launchCommand: any string splits into a trimmed-parameter pair that rejoins to an equivalent command', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (command) => {
        const first = splitLaunchCommand(command);
        assert.equal(first.launchParameters, first.launchParameters.trim());
        if (first.launchPath === '' || first.launchPath.startsWith('"')) return; // refused by the validator, or not re-quotable
        assert.deepEqual(splitLaunchCommand(joinLaunchCommand(first.launchPath, first.launchParameters)), first);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('entitle body properties (over HTTP)', () => {
  let server: TestServer;
  let client: SignedClient;
  let entitleHref: string;

  before(async () => {
    // An application that never becomes Active (nothing listens on port 9): a body that passes
    // validation is answered 409 ConflictException, one that fails it 400 ValidationException.
    server = await startServer({ APPSTREAMD_ENTITLE_SESSION_RATE: '1000000', APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true' });
    client = new SignedClient(server.url, server.credentials);
    const collection = (await client.get(href((await client.get('/')).json, 'appstream:applications'))).json;
    const created = await client.postJson(href(collection, 'application:create'), { name: 'never active', installerUrl: 'http://127.0.0.1:9/none.tgz', installerParameters: '', launchPath: 'run' });
    assert.equal(created.status, 201, created.text);
    entitleHref = href(created.json, 'session:entitle');
  });

  after(async () => {
    await server.stop();
  });

  test('any JSON object is 400 ValidationException or passes validation (409 on a non-Active app)', async () => {
    const body = fc
      .tuple(
        fc.dictionary(fc.constantFrom('opaqueData', 'expirationDuration'), fc.oneof(fieldValue, fc.integer({ min: -5, max: 100 }), fc.double()), { maxKeys: 2 }),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>, { maxKeys: 3 }),
      )
      .map(([known, extra]) => ({ ...extra, ...known }));
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await client.postJson(entitleHref, b);
        assert.ok(res.status === 400 || res.status === 409, `${res.status} ${res.text}`);
        assertAwsError(res, res.status, res.status === 400 ? 'ValidationException' : 'ConflictException');
      }),
      { numRuns: 150 },
    );
  });

  test('valid entitle bodies always pass validation', async () => {
    const valid = fc.record({ opaqueData: fc.string({ maxLength: 4096, unit: 'binary' }), expirationDuration: fc.integer({ min: 1, max: 60 }) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(valid, async (b) => {
        const res = await client.postJson(entitleHref, b);
        assert.equal(res.status, 409, `valid body ${JSON.stringify(b).slice(0, 200)} refused: ${res.text}`);
        assertAwsError(res, 409, 'ConflictException');
      }),
      { numRuns: 100 },
    );
  });
});

/**
 * /metrics is valid Prometheus text (strict parser) whose request counters match exactly the
 * requests this test made; with APPSTREAMD_METRICS_PORT it moves to that port.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { assertAwsError } from '../helpers/assert-error.js';
import { startServer } from '../helpers/server.js';
import { href, rawRequest, SignedClient } from '../helpers/signed-client.js';
import { parsePrometheusText, sampleSum } from './support.js';

const APP_BODY = { name: 'metered', installerUrl: 'http://127.0.0.1:9/none.tgz', installerParameters: '', launchPath: 'bin/run.sh' };

async function scrape(baseUrl: string) {
  const res = await rawRequest(baseUrl, { method: 'GET', path: '/metrics' });
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  return parsePrometheusText(res.text);
}

describe('metrics', () => {
  test('the strict parser rejects malformed exposition', () => {
    const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="q\\"\\n"} 3\n';
    assert.equal(sampleSum(parsePrometheusText(good), 'a_total', { x: '1' }), 3);
    const bad = [
      'a_total 3\n', // undeclared family
      '# TYPE a_total counter\na_total{x=1} 3\n', // unquoted label value
      '# TYPE a_total counter\na_total{x="1"} three\n', // bad value
      '# TYPE a_total counter\na_total -1\n', // negative counter
      '# TYPE a_total counter\n# TYPE a_total gauge\n', // TYPE twice
      '# TYPE a_total counter\na_total 1', // no final newline
      '# TYPE a_total counter\na_total{x="1",x="2"} 1\n', // duplicate label
    ];
    for (const text of bad) assert.throws(() => parsePrometheusText(text), `accepted ${JSON.stringify(text)}`);
  });

  test('counters match the requests made', async () => {
    // Create budget 2/s: three creates sent at once give two 201s and one throttle.
    const server = await startServer({ APPSTREAMD_CREATE_APPLICATION_RATE: '2', APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true' });
    try {
      const client = new SignedClient(server.url, server.credentials);
      const roots = [await client.get('/'), await client.get('/'), await client.get('/')];
      for (const r of roots) assert.equal(r.status, 200, r.text);
      const collection = await client.get(href(roots[0]!.json, 'appstream:applications'));
      assert.equal(collection.status, 200);
      const createHref = href(collection.json, 'application:create');
      const creates = await Promise.all([0, 1, 2].map(() => client.postJson(createHref, APP_BODY)));
      const created = creates.filter((r) => r.status === 201).length;
      const throttled = creates.filter((r) => r.status === 429);
      throttled.forEach((r) => assertAwsError(r, 429, 'ThrottlingException'));
      assert.equal(created + throttled.length, 3, creates.map((r) => r.text).join('\n'));
      assert.ok(throttled.length >= 1, 'three creates at once under a budget of 2/s: at least one throttled');
      const missing = await client.get(href(collection.json, 'application:by-id', { application_id: randomUUID() }));
      assertAwsError(missing, 404, 'ResourceNotFoundException');

      const families = await scrape(server.url);
      const requests = (labels: Record<string, string>) => sampleSum(families, 'appstreamd_requests_total', labels);
      assert.equal(families.get('appstreamd_requests_total')?.type, 'counter');
      assert.equal(requests({ operation: 'GetApiRoot', status: '200', code: '' }), 3);
      assert.equal(requests({ operation: 'GetApplications', status: '200' }), 1);
      assert.equal(requests({ operation: 'CreateApplication', status: '201', code: '' }), created);
      assert.equal(requests({ operation: 'CreateApplication', status: '429', code: 'ThrottlingException' }), throttled.length);
      assert.equal(requests({ operation: 'GetApplication', status: '404', code: 'ResourceNotFoundException' }), 1);
      assert.equal(requests({}), 3 + 1 + 3 + 1, 'nothing else was counted (the scrape itself is counted when it ends)');
      assert.equal(sampleSum(families, 'appstreamd_throttled_total', {}), throttled.length);
      assert.equal(sampleSum(families, 'appstreamd_request_duration_seconds_count', { operation: 'GetApiRoot' }), 3);
      assert.equal(sampleSum(families, 'appstreamd_live_sessions', {}), 0);
      assert.equal(families.get('appstreamd_request_duration_seconds')?.type, 'histogram');

      // The scrape is counted too: the next one sees it.
      const again = await scrape(server.url);
      assert.equal(sampleSum(again, 'appstreamd_requests_total', { operation: 'Metrics', status: '200' }), 1);
    } finally {
      await server.stop();
    }
  });

  test('with APPSTREAMD_METRICS_PORT, /metrics and /health are on that port only', async () => {
    const server = await startServer({ APPSTREAMD_METRICS_PORT: '0' });
    try {
      const metricsServer = server.app.metricsServer();
      assert.ok(metricsServer, 'a separate metrics listener exists');
      const address = metricsServer.server.address();
      assert.ok(address && typeof address === 'object');
      const metricsUrl = `http://127.0.0.1:${address.port}`;
      assert.notEqual(metricsUrl, server.url);

      const client = new SignedClient(server.url, server.credentials);
      assert.equal((await client.get('/')).status, 200);
      const families = await scrape(metricsUrl);
      assert.equal(sampleSum(families, 'appstreamd_requests_total', { operation: 'GetApiRoot', status: '200' }), 1);
      assert.equal((await rawRequest(metricsUrl, { method: 'GET', path: '/health' })).status, 200);

      // On the API port /metrics is an unknown path: unsigned it fails authentication, signed it is 404.
      const unsigned = await rawRequest(server.url, { method: 'GET', path: '/metrics' });
      assert.ok(unsigned.status >= 400 && unsigned.status < 500, `unsigned /metrics on the API port: ${unsigned.status}`);
      assert.ok(!unsigned.text.includes('appstreamd_requests_total'));
      assertAwsError(await client.get('/metrics'), 404, 'ResourceNotFoundException');
    } finally {
      await server.stop();
    }
  });
});

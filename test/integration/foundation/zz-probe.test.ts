import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { startServer } from '../../helpers/server.js';
import { SignedClient } from '../../helpers/signed-client.js';
import { signRequest, sendPrepared } from './support.js';
test('probe', async () => {
  const s = await startServer({ APPSTREAMD_LOG_LEVEL: 'warn' });
  const c = new SignedClient(s.url, s.credentials);
  const show = (n: string, r: any) => console.log(n, r.status, r.status >= 300 ? r.text.slice(0, 150) : '');
  for (const p of ['/?b=2&a=1&a=0', '/?x=%20y&z=a%2Fb', '/?flag', '/?q=%E2%98%83', "/?q=it's(~)*!", '/applications?page=abc', '/applications/%7Bx%7D', '/applications/a%20b', '/applications/x%2Fy']) {
    show('smithy ' + p, await c.get(p));
    const curl = execFileSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--aws-sigv4', 'aws:amz:us-east-1:appstream', '--user', `${s.credentials.accessKeyId}:${s.credentials.secretAccessKey}`, `${s.url}${p}`]).toString();
    const boto = JSON.parse(execFileSync('/usr/bin/python3', ['test/integration/foundation/fixtures/botocore_sign.py'], { input: JSON.stringify({ method: 'GET', url: `${s.url}${p}`, accessKeyId: s.credentials.accessKeyId, secretAccessKey: s.credentials.secretAccessKey, region: 'us-east-1', service: 'appstream' }) }).toString());
    console.log('   curl', curl, 'boto', boto.status, boto.status === 403 ? boto.body.slice(0, 120) : '');
  }
  show('spaces', await sendPrepared(s.url, await signRequest(s.url, s.credentials, { path: '/', headers: { 'x-amz-meta-a': '  a    b  ' } })));
  const r = await signRequest(s.url, s.credentials, { path: '/', headers: { 'x-amz-meta-a': 'a' } });
  show('case-mixed header names', await sendPrepared(s.url, { ...r, headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toUpperCase(), v])) }));
  // Date header (RFC 1123) instead of x-amz-date
  await s.stop();
});

// REDIS_URL as managed Redis services hand it out: an ACL user with a
// password, and rediss:// (TLS, the server's certificate verified). Wrong
// credentials and an untrusted certificate are clear health failures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, emitHttp, okJson, pollUntil, show } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { redisAvailable, startRedis } from '../support/redis.js';
import { makeCertificates } from '../support/tls.js';

const redisCheck = (body) => body?.checks?.find((check) => check.name === 'redis');

async function healthOf(server) {
  const res = await api(server.port, 'GET', '/api/health');
  return { res, check: redisCheck(res.json) };
}

describe('Redis with an ACL user', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  let redis;
  before(async () => {
    redis = await startRedis({ args: ['--user', 'default', 'off', '--user', 'app', 'on', '>s3cret-pass', '~*', '&*', '+@all'] });
  });
  after(() => redis?.stop());

  it('logs in with user and password from the URL', async () => {
    const server = await startRoomcastd([`--redis_url=redis://app:s3cret-pass@127.0.0.1:${redis.port}`]);
    try {
      await pollUntil(async () => (await healthOf(server)).check?.status === 'SERVING', { what: 'redis SERVING' });
      await emitHttp(server.port, { event: 'hello' });
      assert.ok(!server.output().includes('s3cret-pass'), 'the password is never logged');
    } finally {
      await stopServer(server);
    }
  });

  it('a wrong password is NOT_SERVING naming the refusal, and emits fail with 503', async () => {
    const server = await startRoomcastd([`--redis_url=redis://app:wrong@127.0.0.1:${redis.port}`]);
    try {
      const { res, check } = await pollUntil(async () => {
        const health = await healthOf(server);
        return health.res.status === 503 && /WRONGPASS/.test(health.check?.detail) ? health : null;
      }, { what: 'health to report the refused login' });
      assert.match(check.detail, /Redis refused AUTH: WRONGPASS/, show(res));
      assert.ok(!res.body.includes(':wrong@'), 'the URL is not echoed');
      const emit = await api(server.port, 'POST', '/api/socket/emit', { event: 'x' });
      assert.equal(emit.status, 503, show(emit));
    } finally {
      await stopServer(server);
    }
  });
});

describe('Redis over TLS (rediss://)', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  let redis;
  let tls;
  let dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-redis-tls-'));
    tls = makeCertificates(dir);
    redis = await startRedis({ tls });
  });
  after(async () => {
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('connects and delivers when the certificate is trusted (SSL_CERT_FILE)', async () => {
    const server = await startRoomcastd([`--redis_url=${redis.url}`], { env: { SSL_CERT_FILE: tls.ca } });
    try {
      await pollUntil(async () => (await healthOf(server)).check?.status === 'SERVING',
        { what: 'redis SERVING over TLS' });
      const body = await emitHttp(server.port, { event: 'over-tls' });
      assert.ok(body.offset >= 1n);
    } finally {
      await stopServer(server);
    }
  });

  it('refuses a certificate it cannot verify', async () => {
    const server = await startRoomcastd([`--redis_url=${redis.url}`], { env: { SSL_CERT_FILE: '/nonexistent' } });
    try {
      const { check } = await pollUntil(async () => {
        const health = await healthOf(server);
        return health.res.status === 503 && /TLS/.test(health.check?.detail) ? health : null;
      }, { what: 'health to report the TLS failure' });
      assert.match(check.detail, /TLS handshake/, JSON.stringify(check));
    } finally {
      await stopServer(server);
    }
  });
});

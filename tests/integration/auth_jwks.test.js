// Browser tokens verified with keys from a JWKS endpoint (issue 15, "Tokens
// verified by a library, and JWKS"): ROOMCAST_JWKS_URL names an identity
// provider's key set; RS256/ES256 (and RS/PS/ES 384/512) tokens verify with
// the key their `kid` names, of a type fitting their `alg`; HS tokens only
// with JWT_SECRET. The set is cached for the response's max-age, refetched on
// an unknown kid (at most once per --jwks_min_refresh_s), kept when a fetch
// fails (logged, roomcast_jwks_fetches_total{outcome="failed"}, health
// DEGRADED); with no keys yet roomcastd starts, refuses tokens, is DEGRADED.
//
// The JWKS server is node:http (and node:https with an openssl-made CA) on
// 127.0.0.1; keys come from node:crypto; tokens are signed by `jsonwebtoken`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import {
  clearAuthEnv,
  expectAccepted,
  expectRefused,
  kNamespaceFlags,
  kSecret,
  now,
  sign,
} from '../support/auth.js';
import { api, findSamples, okJson, parsePrometheus, pollUntil, show } from '../support/control.js';
import { freePort, stopServer, useRoomcastd } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { connect, connectError, sleep } from '../support/sio.js';

clearAuthEnv();

// ---------------------------------------------------------------- keys

function keyPair(kind) {
  return kind === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

const rsa1 = keyPair('rsa');
const rsa2 = keyPair('rsa');
const ec1 = keyPair('ec');
const ecOther = keyPair('ec');

/** The public JWK of `pair` under `kid`, as an identity provider publishes it. */
function jwk(pair, kid, extra = {}) {
  return { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...extra };
}

/** A token signed with `pair`'s private key, naming `kid` in its header. */
function signWith(pair, kid, claims, algorithm = pair.privateKey.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256') {
  return jwt.sign(claims, pair.privateKey, { algorithm, ...(kid ? { keyid: kid } : {}) });
}

// ---------------------------------------------------------------- a JWKS server

/**
 * node:http (or https) on 127.0.0.1 serving `{keys}` at /jwks with
 * `cacheControl`; `stop()` closes it (connections refused), `start()` listens
 * again on the same port. `requests` counts what it answered; `padding`
 * bytes of filler make the response that much larger.
 */
function jwksServer({ keys, cacheControl = 'max-age=3600', tls } = {}) {
  const state = { keys, cacheControl, requests: 0, port: 0, server: null, padding: 0 };
  const handler = (req, res) => {
    state.requests += 1;
    if (req.url !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': state.cacheControl });
    res.end(JSON.stringify({ keys: state.keys, ...(state.padding ? { padding: 'x'.repeat(state.padding) } : {}) }));
  };
  state.start = (port = state.port) =>
    new Promise((resolve, reject) => {
      state.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
      state.server.once('error', reject);
      state.server.listen(port, '127.0.0.1', () => {
        state.port = state.server.address().port;
        resolve(state);
      });
    });
  state.stop = () =>
    new Promise((resolve) => {
      state.server.closeAllConnections?.();
      state.server.close(() => resolve());
    });
  state.url = () => `${tls ? 'https' : 'http'}://127.0.0.1:${state.port}/jwks`;
  return state;
}

const jwksCheck = (body) => body?.checks?.find((check) => check.name === 'jwks');

async function health(port) {
  const res = await api(port, 'GET', '/api/health');
  assert.ok(res.status === 200 || res.status === 503, show(res));
  return res.json;
}

async function metric(port, name, labels) {
  const res = await api(port, 'GET', '/metrics');
  assert.equal(res.status, 200, show(res));
  return findSamples(parsePrometheus(res.body), name, labels).reduce((sum, s) => sum + s.value, 0);
}

/** A socket.io-client connect with `token`: 'ok' or the CONNECT_ERROR's message. */
async function tryToken(fx, token) {
  try {
    const socket = await connect(fx.url(), { auth: { token } });
    socket.close();
    return 'ok';
  } catch (err) {
    return err.message;
  }
}

// Short intervals so rotation and recovery happen within a test.
const kJwksFlags = ['--jwks_min_refresh_s=1', '--jwks_refresh_s=3600', '--health_interval_ms=200'];

// ================================================================ verification

describe('ROOMCAST_JWKS_URL: tokens verify with the key their kid names', () => {
  const idp = jwksServer({ keys: [jwk(rsa1, 'rsa-1'), jwk(ec1, 'ec-1')] });
  before(() => idp.start());
  after(() => idp.stop());
  const fx = useRoomcastd([...kNamespaceFlags, ...kJwksFlags], { env: { get ROOMCAST_JWKS_URL() { return idp.url(); } } });
  const good = { opts: { auth: { token: signWith(rsa1, 'rsa-1', { sub: 'good-rs' }) } }, sub: 'good-rs' };

  it('accepts RS256 and ES256 tokens signed by the keys the JWKS serves', async () => {
    await expectAccepted(fx, { auth: { token: signWith(rsa1, 'rsa-1', { sub: 'rs-user', exp: now() + 600 }) } }, 'rs-user');
    await expectAccepted(fx, { auth: { token: signWith(ec1, 'ec-1', { sub: 'es-user', exp: now() + 600 }) } }, 'es-user');
    await expectAccepted(fx, { transports: ['websocket'], extraHeaders: { Authorization: `Bearer ${signWith(ec1, 'ec-1', { sub: 'hdr' })}` } }, 'hdr');
    for (const algorithm of ['RS384', 'RS512', 'PS256', 'PS512']) {
      await expectAccepted(fx, { auth: { token: signWith(rsa1, 'rsa-1', { sub: algorithm }, algorithm) } }, algorithm);
    }
  });

  it('a kid the set lacks → "unknown key id ..."; no kid → refused', async () => {
    await expectRefused(fx, { auth: { token: signWith(rsa1, 'nope', { sub: 'u' }) } }, 'unknown key id nope', good);
    await expectRefused(fx, { auth: { token: signWith(rsa1, null, { sub: 'u' }) } }, /^token has no kid/, good);
  });

  it('tampered, another key under a served kid, a kid of the wrong key type → refused', async () => {
    const [h, , s] = signWith(rsa1, 'rsa-1', { sub: 'alice' }).split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url')}.${s}`;
    await expectRefused(fx, { auth: { token: forged } }, 'bad signature', good);
    await expectRefused(fx, { auth: { token: signWith(ecOther, 'ec-1', { sub: 'u' }) } }, 'bad signature', good);
    await expectRefused(fx, { auth: { token: signWith(ec1, 'rsa-1', { sub: 'u' }) } }, 'algorithm ES256 does not fit key rsa-1', good);
  });

  it('expired → "token expired"', async () => {
    await expectRefused(fx, { auth: { token: signWith(ec1, 'ec-1', { sub: 'u', exp: now() - 600 }) } }, 'token expired', good);
  });

  it('HS256 with a JWKS kid, an HS256 keyed with the public key, alg none → "unsupported algorithm ..."', async () => {
    const hs = jwt.sign({ sub: 'u' }, kSecret, { algorithm: 'HS256', keyid: 'rsa-1' });
    await expectRefused(fx, { auth: { token: hs } }, 'unsupported algorithm HS256', good);
    // The classic confusion: the RSA public key (as published) used as an HMAC secret.
    const pem = rsa1.publicKey.export({ type: 'spki', format: 'pem' });
    const [header, payload] = [{ alg: 'HS256', kid: 'rsa-1' }, { sub: 'admin' }].map((part) =>
      Buffer.from(JSON.stringify(part)).toString('base64url'));
    const mac = crypto.createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
    await expectRefused(fx, { auth: { token: `${header}.${payload}.${mac}` } }, 'unsupported algorithm HS256', good);
    const none = `${Buffer.from('{"alg":"none","kid":"rsa-1"}').toString('base64url')}.${payload}.`;
    await expectRefused(fx, { auth: { token: none } }, 'unsupported algorithm none', good);
  });

  it('health is SERVING with a jwks check; the keys are counted', async () => {
    const body = await health(fx.port);
    assert.equal(body.status, 'SERVING', JSON.stringify(body));
    assert.equal(jwksCheck(body)?.status, 'SERVING', JSON.stringify(body));
    assert.equal(await metric(fx.port, 'roomcast_jwks_keys'), 2);
    assert.ok(await metric(fx.port, 'roomcast_jwks_fetches_total', { outcome: 'ok' }) >= 1);
  });
});

describe('JWT_SECRET and ROOMCAST_JWKS_URL together', () => {
  const idp = jwksServer({ keys: [jwk(ec1, 'ec-1')] });
  before(() => idp.start());
  after(() => idp.stop());
  const fx = useRoomcastd([...kNamespaceFlags, ...kJwksFlags], {
    env: { JWT_SECRET: kSecret, get ROOMCAST_JWKS_URL() { return idp.url(); } },
  });

  it('HS256 verifies with the secret, ES256 with the JWKS key', async () => {
    await expectAccepted(fx, { auth: { token: sign({ sub: 'hs-user' }) } }, 'hs-user');
    await expectAccepted(fx, { auth: { token: signWith(ec1, 'ec-1', { sub: 'es-user' }) } }, 'es-user');
    const good = { opts: { auth: { token: sign({ sub: 'g' }) } }, sub: 'g' };
    await expectRefused(fx, { auth: { token: jwt.sign({ sub: 'u' }, 'not-the-secret', { algorithm: 'HS256', keyid: 'ec-1' }) } }, 'bad signature', good);
  });
});

// ================================================================ rotation

describe('key rotation', () => {
  const idp = jwksServer({ keys: [jwk(rsa1, 'rsa-1')] });
  before(() => idp.start());
  after(() => idp.stop());
  const fx = useRoomcastd(kJwksFlags, { env: { get ROOMCAST_JWKS_URL() { return idp.url(); } } });

  it('a new kid is fetched when a token names it; a removed kid is refused after the refetch', async () => {
    const old = signWith(rsa1, 'rsa-1', { sub: 'old', exp: now() + 600 });
    assert.equal(await tryToken(fx, old), 'ok');
    const before = idp.requests;
    // The provider rotates: rsa-2 signs from now on, rsa-1 is withdrawn.
    idp.keys = [jwk(rsa2, 'rsa-2')];
    const fresh = signWith(rsa2, 'rsa-2', { sub: 'new', exp: now() + 600 });
    // The first token with rsa-2 makes roomcastd refetch (max-age is an hour);
    // it may be refused while the fetch is under way, not after.
    const first = await tryToken(fx, fresh);
    assert.ok(first === 'ok' || first === 'unknown key id rsa-2', first);
    await pollUntil(async () => (await tryToken(fx, fresh)) === 'ok', { timeoutMs: 5000, what: 'rsa-2 accepted' });
    assert.ok(idp.requests > before, 'the unknown kid caused a fetch');
    assert.equal(await tryToken(fx, old), 'unknown key id rsa-1');
  });

  it('unknown kids refetch at most once per --jwks_min_refresh_s', async () => {
    await sleep(1100);  // Past the interval of the previous test's refetch.
    const start = idp.requests;
    const t0 = Date.now();
    for (let i = 0; i < 12; i += 1) {
      assert.equal(await tryToken(fx, signWith(rsa1, `ghost-${i}`, { sub: 'u' })), `unknown key id ghost-${i}`);
      await sleep(200);
    }
    const seconds = (Date.now() - t0) / 1000;
    const fetched = idp.requests - start;
    assert.ok(fetched >= 1 && fetched <= Math.ceil(seconds) + 1, `${fetched} fetches in ${seconds} s`);
  });
});

// ================================================================ failures

describe('the JWKS server goes away and comes back', () => {
  const idp = jwksServer({ keys: [jwk(ec1, 'ec-1')], cacheControl: 'max-age=1' });
  before(() => idp.start());
  after(() => idp.stop());
  const fx = useRoomcastd(kJwksFlags, { env: { get ROOMCAST_JWKS_URL() { return idp.url(); } } });

  it('keeps the old keys (tokens still verify), counts the failures, is DEGRADED, then SERVING again', async () => {
    const token = signWith(ec1, 'ec-1', { sub: 'kept', exp: now() + 600 });
    assert.equal(await tryToken(fx, token), 'ok');
    const failedBefore = await metric(fx.port, 'roomcast_jwks_fetches_total', { outcome: 'failed' });
    await idp.stop();
    const degraded = await pollUntil(async () => {
      const body = await health(fx.port);
      return body.status === 'DEGRADED' ? body : null;
    }, { timeoutMs: 8000, what: 'health DEGRADED' });
    assert.equal(jwksCheck(degraded)?.status, 'DEGRADED', JSON.stringify(degraded));
    assert.match(jwksCheck(degraded).detail, /^keeping 1 keys; last fetch failed: /, JSON.stringify(degraded));
    assert.ok(await metric(fx.port, 'roomcast_jwks_fetches_total', { outcome: 'failed' }) > failedBefore);
    assert.equal(await tryToken(fx, token), 'ok', 'the old keys still verify');
    await idp.start();
    await pollUntil(async () => (await health(fx.port)).status === 'SERVING', { timeoutMs: 8000, what: 'health SERVING again' });
    assert.equal(await tryToken(fx, token), 'ok');
  });

  it('a JWKS response over 1 MiB is refused: counted, the old keys kept', async () => {
    const token = signWith(ec1, 'ec-1', { sub: 'kept', exp: now() + 600 });
    const failedBefore = await metric(fx.port, 'roomcast_jwks_fetches_total', { outcome: 'failed' });
    idp.padding = (1 << 20) + 1;
    try {
      // A kid the set lacks asks for a refetch now.
      assert.notEqual(await tryToken(fx, signWith(rsa2, 'rsa-unseen', { sub: 'x' })), 'ok');
      const degraded = await pollUntil(async () => {
        const body = await health(fx.port);
        return body.status === 'DEGRADED' ? body : null;
      }, { timeoutMs: 8000, what: 'health DEGRADED' });
      assert.match(jwksCheck(degraded).detail, /last fetch failed: body limit exceeded/, JSON.stringify(degraded));
      assert.ok(await metric(fx.port, 'roomcast_jwks_fetches_total', { outcome: 'failed' }) > failedBefore);
      assert.equal(await tryToken(fx, token), 'ok', 'the old keys still verify');
    } finally {
      idp.padding = 0;
    }
    await pollUntil(async () => (await health(fx.port)).status === 'SERVING', { timeoutMs: 8000, what: 'health SERVING again' });
  });
});

describe('no keys at startup', () => {
  let port;
  let idp;
  let server;
  before(async () => {
    port = await freePort();
    idp = jwksServer({ keys: [jwk(ec1, 'ec-1')] });
    server = await startRoomcastd(kJwksFlags, { env: { ROOMCAST_JWKS_URL: `http://127.0.0.1:${port}/jwks` } });
  });
  after(async () => {
    await stopServer(server);
    if (idp.server) await idp.stop();
  });

  it('starts, refuses tokens saying why, is DEGRADED; serves once the keys arrive', async () => {
    const url = `http://127.0.0.1:${server.port}`;
    const token = signWith(ec1, 'ec-1', { sub: 'late', exp: now() + 600 });
    const err = await connectError(url, { auth: { token } });
    assert.match(err.message, /^no signing keys yet: the JWKS has not been fetched/);
    const body = await health(server.port);
    assert.equal(body.status, 'DEGRADED', JSON.stringify(body));
    assert.match(jwksCheck(body)?.detail ?? '', /^no keys yet/, JSON.stringify(body));
    await idp.start(port);
    await pollUntil(async () => (await health(server.port)).status === 'SERVING', { timeoutMs: 8000, what: 'SERVING after the first fetch' });
    const socket = await connect(url, { auth: { token } });
    socket.close();
  });

  it('a ROOMCAST_JWKS_URL that is not http(s) stops startup, naming the setting', async () => {
    const { runToExit } = await import('../support/fixtures.js');
    const run = await runToExit(['--port=0', '--grpc_port=0', '--jwks_url=ftp://example.test/jwks']);
    assert.equal(run.timedOut, false);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /jwks_url/);
  });
});

// ================================================================ shutdown

describe('SIGTERM with the fetcher busy or idle', () => {
  it('exits 0 while a fetch hangs (a JWKS server that never answers), and with keys cached', async () => {
    const sockets = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const idp = jwksServer({ keys: [jwk(ec1, 'ec-1')] });
    await idp.start();
    try {
      for (const url of [`http://127.0.0.1:${silent.address().port}/jwks`, idp.url()]) {
        const server = await startRoomcastd(kJwksFlags, { env: { ROOMCAST_JWKS_URL: url } });
        if (url === idp.url()) {
          await pollUntil(async () => (await health(server.port)).status === 'SERVING', { timeoutMs: 5000, what: 'keys' });
        } else {
          await pollUntil(() => sockets.length > 0, { timeoutMs: 5000, what: 'the fetch to connect' });
        }
        const exit = await stopServer(server, { signal: 'SIGTERM', timeoutMs: 15000 });
        assert.deepEqual({ code: exit.code, signal: exit.signal, killed: exit.killed ?? false },
          { code: 0, signal: null, killed: false }, `${url}:\n${server.output().slice(-2000)}`);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await idp.stop();
    }
  });
});

// ================================================================ https

describe('an https JWKS endpoint, its CA given by SSL_CERT_FILE', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-jwks-tls-'));
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key',
    '-out', 'ca.pem', '-days', '1', '-subj', '/CN=roomcast test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key',
    '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '1', '-extfile', 'san.cnf');
  const tls = { key: fs.readFileSync(path.join(dir, 'server.key')), cert: fs.readFileSync(path.join(dir, 'server.pem')) };
  const idp = jwksServer({ keys: [jwk(ec1, 'ec-1')], tls });
  before(() => idp.start());
  after(async () => {
    await idp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const fx = useRoomcastd(kJwksFlags, {
    env: { get ROOMCAST_JWKS_URL() { return idp.url(); }, SSL_CERT_FILE: path.join(dir, 'ca.pem') },
  });

  it('fetches the keys over TLS and verifies with them', async () => {
    // The first fetch runs beside startup: tokens wait for its keys.
    await pollUntil(async () => jwksCheck(await health(fx.port))?.status === 'SERVING',
      { timeoutMs: 5000, what: 'the keys fetched over TLS' });
    assert.equal(await tryToken(fx, signWith(ec1, 'ec-1', { sub: 'tls' })), 'ok');
    okJson(await api(fx.port, 'GET', '/api/health'));
  });
});

describe('an https JWKS endpoint whose certificate the system does not trust', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-jwks-untrusted-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
  const tls = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  const idp = jwksServer({ keys: [jwk(ec1, 'ec-1')], tls });
  before(() => idp.start());
  after(async () => {
    await idp.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const fx = useRoomcastd(kJwksFlags, { env: { get ROOMCAST_JWKS_URL() { return idp.url(); } } });

  it('no keys: the fetch fails certificate verification, tokens are refused', async () => {
    const body = await pollUntil(async () => {
      const b = await health(fx.port);
      return /certificate/.test(jwksCheck(b)?.detail ?? '') ? b : null;
    }, { timeoutMs: 5000, what: 'a certificate error in the jwks check' });
    assert.equal(body.status, 'DEGRADED');
    assert.match(await tryToken(fx, signWith(ec1, 'ec-1', { sub: 'u' })), /^no signing keys yet/);
  });
});

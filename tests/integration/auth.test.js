// Browser authentication (issue 4, "Browser authentication"): with a browser
// secret configured (--jwt_secret / JWT_SECRET, --jwt_public_key_file /
// ROOMCAST_JWT_PUBLIC_KEY_FILE, --nextauth_secret / NEXTAUTH_SECRET) every
// Socket.IO CONNECT outside --public_namespaces needs a valid token: in the
// auth payload ({token}), an `Authorization: Bearer` header on the handshake,
// or a NextAuth v4 / Auth.js v5 session cookie (also chunked). A refusal is a
// CONNECT_ERROR whose message says why, and nothing else happens for that
// socket. An accepted socket is in the room `user:<sub>`, which the control
// plane reaches (every tab of the user). NODE_ENV=production needs a browser
// secret unless --insecure; a bad PEM file stops startup naming the flag.
//
// Tokens are minted by independent implementations: `jsonwebtoken` for JWS,
// next-auth's own `encode` (v4, A256GCM) and @auth/core's `encode` (Auth.js
// v5, A256CBC-HS512, salt = cookie name) for session cookies.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { encode as encodeNextAuthV4 } from 'next-auth/jwt';
import { encode as encodeAuthJs } from '@auth/core/jwt';
import { Manager } from 'socket.io-client';
import { api, okJson, show } from '../support/control.js';
import { runToExit, stopServer, useRoomcastd } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { RawWs } from '../support/raw.js';
import { connect, connectError, expectNoEvent, kStepTimeoutMs, roomsOf, sleep, waitFor, withTimeout } from '../support/sio.js';

// The servers below get their settings from flags or from the env this file
// passes; nothing from the environment the tests happen to run in.
for (const name of [
  'JWT_SECRET', 'ROOMCAST_JWT_PUBLIC_KEY_FILE', 'ROOMCAST_JWT_LEEWAY_S', 'ROOMCAST_JWT_ISSUER',
  'ROOMCAST_JWT_AUDIENCE', 'NEXTAUTH_SECRET', 'ROOMCAST_PUBLIC_NAMESPACES', 'NODE_ENV',
  'INTERNAL_API_KEY', 'ROOMCAST_INSECURE', 'ROOMCAST_NAMESPACES',
]) {
  delete process.env[name];
}

const kSecret = 'roomcast-test-jwt-secret-5b1e0c7d9a';
const kOtherSecret = 'some-other-secret-0000000000000000';
const kNextAuthSecret = 'nextauth-test-secret-8d2f41c3e6a7b9';
const kNamespaceFlags = ['--namespaces=/,/public,/other', '--public_namespaces=/public'];
const kIssuer = 'https://auth.example.test';
const kAudience = 'roomcast';

// Packet types of socket.io-parser.
const CONNECT_ERROR = 4;

const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- keys on disk

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-auth-test-'));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

function writeTmp(name, contents) {
  const file = path.join(tmpDir, name);
  fs.writeFileSync(file, contents);
  return file;
}

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaOther = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecOther = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' });
const rsaPemFile = writeTmp('rsa.pub.pem', rsaPublicPem);
const ecPemFile = writeTmp('ec.pub.pem', ecPublicPem);

// ---------------------------------------------------------------- tokens

/** A JWS signed by jsonwebtoken; `claims` may carry exp/nbf/iss/aud. */
function sign(claims, { secret = kSecret, algorithm = 'HS256' } = {}) {
  return jwt.sign(claims, secret, { algorithm });
}

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`, empty signature). */
function unsigned(claims) {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
}

/** A NextAuth v4 session token minted by next-auth's own encode. */
function nextAuthV4(claims, { secret = kNextAuthSecret, maxAge } = {}) {
  return encodeNextAuthV4({ token: claims, secret, ...(maxAge === undefined ? {} : { maxAge }) });
}

/** An Auth.js v5 session token minted by @auth/core's encode for cookie `salt`. */
function authJs(claims, { salt = 'authjs.session-token', secret = kNextAuthSecret, maxAge } = {}) {
  return encodeAuthJs({ token: claims, secret, salt, ...(maxAge === undefined ? {} : { maxAge }) });
}

// next-auth v4's own session cookie chunker (4096 - 163 = 3933 characters a
// chunk). It is not in the package's exports, so it is loaded by path; the
// next-auth version is pinned in package.json.
const require = createRequire(import.meta.url);
const { SessionStore } = require(path.join(path.dirname(require.resolve('next-auth')), 'core/lib/cookie.js'));

/** The Cookie header a browser sends for `token` after next-auth set it (chunked when large). */
function nextAuthCookieHeader(name, token) {
  const store = new SessionStore({ name, options: {} }, { cookies: {} }, { debug() {} });
  return store.chunk(token, {}).map((c) => `${c.name}=${c.value}`).join('; ');
}

/** `n` consecutive non-empty pieces of `s`. */
function split(s, n) {
  const size = Math.ceil(s.length / n);
  const pieces = [];
  for (let i = 0; i < n; i += 1) pieces.push(s.slice(i * size, (i + 1) * size));
  assert.ok(pieces.every((p) => p.length > 0));
  return pieces;
}

/** A Cookie header carrying `value` as `name`, or as `name.0`, `name.1`, … when `chunks` > 1. */
function sessionCookie(name, value, { chunks = 1, order } = {}) {
  if (chunks === 1) return `${name}=${value}`;
  const parts = split(value, chunks).map((piece, i) => `${name}.${i}=${piece}`);
  return (order ? order.map((i) => parts[i]) : parts).join('; ');
}

// ---------------------------------------------------------------- assertions

/** Asserts an accepted connection: `socket`'s rooms are exactly [`user:<sub>`]. */
async function assertUserRooms(socket, sub) {
  assert.deepEqual(await roomsOf(socket), [`user:${sub}`]);
}

function assertMessage(err, expected, what) {
  assert.ok(err instanceof Error, `${what}: expected a connect_error, got ${err}`);
  if (expected instanceof RegExp) assert.match(err.message, expected, what);
  else assert.equal(err.message, expected, what);
}

/**
 * Connects a socket to namespace `nsp` on a connection that is already
 * connected to the public namespace, and expects a refusal whose message is
 * `expected` (a string, exactly, or a RegExp). Then checks that nothing else
 * happens for that socket: the connection receives exactly one packet for
 * `nsp` (the CONNECT_ERROR) even when a service emits to the whole namespace,
 * the socket never counts as connected, and the same connection's public
 * socket still works. Finally `good` (connect options and the expected sub)
 * connects to the same server and is served, so the refusal left it working.
 */
async function expectRefused(fx, { auth, headers, transports, nsp = '/' }, expected, good) {
  const manager = new Manager(fx.url(), {
    reconnection: false,
    autoConnect: false,
    timeout: kStepTimeoutMs,
    ...(transports ? { transports } : {}),
    ...(headers ? { extraHeaders: headers } : {}),
  });
  const packets = [];
  manager.on('packet', (packet) => packets.push(packet));
  let err;
  try {
    const pub = manager.socket('/public');
    await withTimeout(
      new Promise((resolve, reject) => {
        pub.once('connect', resolve);
        pub.once('connect_error', (e) => reject(new Error(`public namespace refused: ${e.message}`)));
        pub.connect();
      }),
      kStepTimeoutMs + 1000,
      'connect to /public',
    );
    const socket = manager.socket(nsp, auth === undefined ? {} : { auth });
    let connected = false;
    socket.on('connect', () => {
      connected = true;
    });
    err = await withTimeout(
      new Promise((resolve) => {
        socket.once('connect_error', resolve);
        socket.once('connect', () => resolve(new Error(`connected to ${nsp} (id ${socket.id}) instead of a refusal`)));
        socket.connect();
      }),
      kStepTimeoutMs + 1000,
      `connect_error on ${nsp}`,
    );
    assert.ok(!connected, `the socket connected to ${nsp}: ${err.message}`);
    assertMessage(err, expected, `CONNECT_ERROR message on ${nsp}`);
    // A service emits to every socket of the namespace: not to this one.
    okJson(await api(fx.port, 'POST', '/v1/emit', { namespace: nsp, event: 'after-refusal', data: 1 }));
    await sleep(250);
    const forNsp = packets.filter((p) => p.nsp === nsp);
    assert.deepEqual(
      forNsp.map((p) => p.type),
      [CONNECT_ERROR],
      `packets for ${nsp} after the refusal: ${JSON.stringify(forNsp)}`,
    );
    assert.equal(connected, false);
    assert.equal(socket.connected, false);
    // The connection itself is intact: its public socket is still served, anonymously.
    assert.ok(pub.connected, 'the public socket of the same connection is still connected');
    assert.deepEqual(await roomsOf(pub), []);
  } finally {
    manager.disconnect();
  }
  if (good) {
    const socket = await connect(fx.url('127.0.0.1', good.nsp ?? ''), good.opts);
    try {
      await assertUserRooms(socket, good.sub);
    } finally {
      socket.close();
    }
  }
  return err;
}

/** Connects with `opts` to `nsp` and asserts the socket is in exactly `user:<sub>`. */
async function expectAccepted(fx, opts, sub, { nsp = '' } = {}) {
  const socket = await connect(fx.url('127.0.0.1', nsp), opts);
  try {
    await assertUserRooms(socket, sub);
  } finally {
    socket.close();
  }
}

// ================================================================ HS256/384/512

describe('JWT_SECRET (HS256/384/512), env var, default leeway 60 s', () => {
  const fx = useRoomcastd(kNamespaceFlags, { env: { JWT_SECRET: kSecret } });
  const good = { opts: { auth: { token: sign({ sub: 'good-hs' }) } }, sub: 'good-hs' };

  for (const algorithm of ['HS256', 'HS384', 'HS512']) {
    it(`accepts an ${algorithm} token in the auth payload; the socket is in user:<sub>`, async () => {
      const sub = `user-${algorithm.toLowerCase()}`;
      await expectAccepted(fx, { auth: { token: sign({ sub, exp: now() + 600 }, { algorithm }) } }, sub);
    });

    it(`accepts ${algorithm} over WebSocket only and over polling only`, async () => {
      const token = sign({ sub: 'transport-user' }, { algorithm });
      await expectAccepted(fx, { transports: ['websocket'], auth: { token } }, 'transport-user');
      await expectAccepted(fx, { transports: ['polling'], auth: { token } }, 'transport-user');
    });
  }

  it('the token also opens the other authenticated namespaces (/other)', async () => {
    await expectAccepted(fx, { auth: { token: sign({ sub: 'other-nsp' }) } }, 'other-nsp', { nsp: '/other' });
  });

  it('an exp beyond the leeway → "token expired"', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'late', exp: now() - 120 }) } }, 'token expired', good);
    await expectRefused(fx, { auth: { token: sign({ sub: 'late', exp: now() - 3600 }) } }, 'token expired', good);
  });

  it('an exp in the past but within the leeway is accepted', async () => {
    await expectAccepted(fx, { auth: { token: sign({ sub: 'skewed', exp: now() - 30 }) } }, 'skewed');
  });

  it('an nbf in the future beyond the leeway → "token not yet valid"; within it, accepted', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'early', nbf: now() + 600 }) } }, 'token not yet valid', good);
    await expectAccepted(fx, { auth: { token: sign({ sub: 'early', nbf: now() + 30 }) } }, 'early');
  });

  it('a token signed with another secret → "bad signature"', async () => {
    for (const algorithm of ['HS256', 'HS384', 'HS512']) {
      await expectRefused(fx, { auth: { token: sign({ sub: 'u1' }, { secret: kOtherSecret, algorithm }) } }, 'bad signature', good);
    }
  });

  it('a tampered payload (sub changed after signing) → "bad signature"', async () => {
    const [header, , signature] = sign({ sub: 'alice' }).split('.');
    const forged = `${header}.${b64url({ sub: 'admin', iat: now() })}.${signature}`;
    await expectRefused(fx, { auth: { token: forged } }, 'bad signature', good);
  });

  it('an algorithm switched in the header (HS256 signature, HS512 header) → "bad signature"', async () => {
    const [, payload, signature] = sign({ sub: 'alice' }).split('.');
    const switched = `${b64url({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`;
    await expectRefused(fx, { auth: { token: switched } }, 'bad signature', good);
  });

  it('malformed tokens → "malformed token: ..."', async () => {
    const valid = sign({ sub: 'u1' });
    for (const token of [
      'garbage',
      'only.two',
      `${valid}.extra`,
      `!!!.${valid.split('.')[1]}.${valid.split('.')[2]}`, // header not base64url
      `${b64url('not json')}.${valid.split('.')[1]}.${valid.split('.')[2]}`, // header not JSON
      `${valid.split('.')[0]}.${b64url('[1,2]')}.${valid.split('.')[2]}`, // payload not an object
    ]) {
      await expectRefused(fx, { auth: { token } }, /^malformed token: /, good);
    }
  });

  it('auth.token that is not a string → "malformed token: ..."', async () => {
    await expectRefused(fx, { auth: { token: 12345 } }, /^malformed token: /, good);
    await expectRefused(fx, { auth: { token: { jwt: sign({ sub: 'u1' }) } } }, /^malformed token: /, good);
  });

  it('no token → "missing token" (no auth, empty auth, auth without token)', async () => {
    await expectRefused(fx, {}, 'missing token', good);
    await expectRefused(fx, { auth: {} }, 'missing token', good);
    await expectRefused(fx, { auth: { rooms: ['lobby'] } }, 'missing token', good);
    await expectRefused(fx, { auth: { token: '' } }, 'missing token', good);
  });

  it('alg "none" → "unsupported algorithm ..."', async () => {
    await expectRefused(fx, { auth: { token: unsigned({ sub: 'admin' }) } }, /^unsupported algorithm/, good);
    // With a (valid HS256) signature still attached, "none" is still refused.
    const [, payload, signature] = sign({ sub: 'admin' }).split('.');
    await expectRefused(fx, { auth: { token: `${b64url({ alg: 'none' })}.${payload}.${signature}` } }, /^unsupported algorithm/, good);
  });

  it('an RS256 token on a secret-only server → "unsupported algorithm ..."', async () => {
    const token = sign({ sub: 'u1' }, { secret: rsa.privateKey, algorithm: 'RS256' });
    await expectRefused(fx, { auth: { token } }, /^unsupported algorithm/, good);
  });

  describe('Authorization: Bearer on the handshake request', () => {
    for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
      it(`is accepted (transports ${transports.join('+')})`, async () => {
        const token = sign({ sub: 'header-user' });
        await expectAccepted(fx, { transports, extraHeaders: { Authorization: `Bearer ${token}` } }, 'header-user');
      });
    }

    it('is verified like the payload token: other secret → "bad signature", expired → "token expired"', async () => {
      for (const transports of [['polling'], ['websocket']]) {
        await expectRefused(fx, { transports, headers: { Authorization: `Bearer ${sign({ sub: 'u' }, { secret: kOtherSecret })}` } }, 'bad signature', good);
        await expectRefused(fx, { transports, headers: { Authorization: `Bearer ${sign({ sub: 'u', exp: now() - 600 })}` } }, 'token expired', good);
        await expectRefused(fx, { transports, headers: { Authorization: 'Bearer garbage' } }, /^malformed token: /, good);
      }
    });

    it('a non-Bearer Authorization header is no token → "missing token"', async () => {
      await expectRefused(fx, { headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }, 'missing token', good);
    });
  });

  describe('public namespaces', () => {
    it('/public connects without any token; the socket is in no user room', async () => {
      for (const transports of [['polling'], ['websocket']]) {
        const socket = await connect(fx.url('127.0.0.1', '/public'), { transports });
        try {
          assert.deepEqual(await roomsOf(socket), []);
        } finally {
          socket.close();
        }
      }
    });

    it('the non-public namespaces still need a token ("/" and "/other")', async () => {
      await expectRefused(fx, { nsp: '/' }, 'missing token', good);
      await expectRefused(fx, { nsp: '/other' }, 'missing token', { ...good, nsp: '/other' });
      await expectRefused(fx, { nsp: '/other', auth: { token: 'x.y' } }, /^malformed token: /, good);
    });

    it('an undeclared namespace is still "Invalid namespace", token or not', async () => {
      const err = await connectError(fx.url('127.0.0.1', '/nope'), { auth: { token: sign({ sub: 'u1' }) } });
      assert.equal(err.message, 'Invalid namespace');
    });
  });

  describe('after a refusal', () => {
    it('the same connection may CONNECT again with a good token; nothing is sent in between (raw WebSocket)', async () => {
      const raw = await RawWs.open(fx.port);
      try {
        assert.match(await raw.next(), /^0\{/); // Engine.IO open
        raw.send(`40${JSON.stringify({ token: sign({ sub: 'raw-user' }, { secret: kOtherSecret }) })}`);
        assert.equal(await raw.next(), '44{"message":"bad signature"}');
        await assert.rejects(raw.next(300), /timed out/, 'nothing may follow the CONNECT_ERROR');
        raw.send('40/other,');
        assert.equal(await raw.next(), '44/other,{"message":"missing token"}');
        await assert.rejects(raw.next(300), /timed out/, 'nothing may follow the CONNECT_ERROR');
        raw.send(`40${JSON.stringify({ token: sign({ sub: 'raw-user' }) })}`);
        const connected = await raw.next();
        assert.match(connected, /^40\{"sid":"[^"]+"\}$/);
        raw.send('420["rooms"]');
        assert.equal(await raw.next(), '430[{"ok":true,"rooms":["user:raw-user"]}]');
      } finally {
        raw.ws.close();
      }
    });

    it('a refused socket is not a member of the user room it claimed', async () => {
      await expectRefused(fx, { auth: { token: sign({ sub: 'ghost', exp: now() - 600 }) } }, 'token expired', good);
      const listed = okJson(await api(fx.port, 'GET', '/v1/rooms/sockets?room=user:ghost'));
      assert.deepEqual(listed.sockets ?? [], [], show({ status: 200, body: JSON.stringify(listed) }));
      const emitted = okJson(await api(fx.port, 'POST', '/api/socket/emit', { room: 'user:ghost', event: 'e', data: 1 }));
      assert.equal(emitted.recipients ?? '0', '0');
    });
  });

  describe('user rooms', () => {
    it('every socket of a user (two tabs, two transports) gets an emit to user:<sub>; other users do not', async (t) => {
      const tab1 = await connect(fx.url(), { transports: ['websocket'], auth: { token: sign({ sub: 'fan-u1' }) } });
      t.after(() => tab1.close());
      const tab2 = await connect(fx.url(), { transports: ['polling'], extraHeaders: { Authorization: `Bearer ${sign({ sub: 'fan-u1' }, { algorithm: 'HS512' })}` } });
      t.after(() => tab2.close());
      const other = await connect(fx.url(), { auth: { token: sign({ sub: 'fan-u2' }) } });
      t.after(() => other.close());
      await assertUserRooms(tab1, 'fan-u1');
      await assertUserRooms(tab2, 'fan-u1');
      await assertUserRooms(other, 'fan-u2');

      const got1 = waitFor(tab1, 'e');
      const got2 = waitFor(tab2, 'e');
      const notOther = expectNoEvent(other, 'e', 500);
      const res = okJson(await api(fx.port, 'POST', '/api/socket/emit', { room: 'user:fan-u1', event: 'e', data: 1 }));
      assert.equal(res.recipients, '2', JSON.stringify(res));
      assert.equal(await got1, 1);
      assert.equal(await got2, 1);
      await notOther;

      const listed = okJson(await api(fx.port, 'GET', '/v1/rooms/sockets?room=user:fan-u1'));
      assert.deepEqual(listed.sockets.map((s) => s.id).sort(), [tab1.id, tab2.id].sort());
    });

    it('the control plane\'s userId selector reaches every socket of the user', async (t) => {
      const tab1 = await connect(fx.url(), { auth: { token: sign({ sub: 'sel-user' }) } });
      t.after(() => tab1.close());
      const tab2 = await connect(fx.url(), { transports: ['websocket'], auth: { token: sign({ sub: 'sel-user' }) } });
      t.after(() => tab2.close());
      const other = await connect(fx.url(), { auth: { token: sign({ sub: 'sel-other' }) } });
      t.after(() => other.close());
      const joined = okJson(await api(fx.port, 'POST', '/v1/rooms:join', { sockets: { userId: 'sel-user' }, rooms: ['vip'] }));
      assert.equal(joined.sockets, '2', JSON.stringify(joined));
      assert.deepEqual(await roomsOf(tab1), ['user:sel-user', 'vip']);
      assert.deepEqual(await roomsOf(tab2), ['user:sel-user', 'vip']);
      assert.deepEqual(await roomsOf(other), ['user:sel-other']);
    });
  });
});

// ================================================================ leeway flag

describe('--jwt_leeway_s=0', () => {
  const fx = useRoomcastd([...kNamespaceFlags, `--jwt_secret=${kSecret}`, '--jwt_leeway_s=0']);
  const good = { opts: { auth: { token: sign({ sub: 'good-l0' }) } }, sub: 'good-l0' };

  it('an exp 30 s ago (inside the default leeway) → "token expired"', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'u', exp: now() - 30 }) } }, 'token expired', good);
  });

  it('an nbf 30 s ahead → "token not yet valid"', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'u', nbf: now() + 30 }) } }, 'token not yet valid', good);
  });

  it('a token valid now is accepted', async () => {
    await expectAccepted(fx, { auth: { token: sign({ sub: 'now-user', nbf: now() - 5, exp: now() + 60 }) } }, 'now-user');
  });
});

// ================================================================ issuer / audience

describe('--jwt_issuer and --jwt_audience', () => {
  const fx = useRoomcastd([...kNamespaceFlags, `--jwt_secret=${kSecret}`, `--jwt_issuer=${kIssuer}`, `--jwt_audience=${kAudience}`]);
  const good = { opts: { auth: { token: sign({ sub: 'good-ia', iss: kIssuer, aud: kAudience }) } }, sub: 'good-ia' };

  it('a token with the right iss and aud is accepted (aud as a string or in an array)', async () => {
    await expectAccepted(fx, { auth: { token: sign({ sub: 'ia1', iss: kIssuer, aud: kAudience }) } }, 'ia1');
    await expectAccepted(fx, { auth: { token: sign({ sub: 'ia2', iss: kIssuer, aud: ['other-app', kAudience] }) } }, 'ia2');
  });

  it('a wrong or missing iss → "wrong issuer"', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'u', iss: 'https://evil.example', aud: kAudience }) } }, 'wrong issuer', good);
    await expectRefused(fx, { auth: { token: sign({ sub: 'u', aud: kAudience }) } }, 'wrong issuer', good);
  });

  it('a wrong or missing aud → "wrong audience"', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'u', iss: kIssuer, aud: 'other-app' }) } }, 'wrong audience', good);
    await expectRefused(fx, { auth: { token: sign({ sub: 'u', iss: kIssuer, aud: ['a', 'b'] }) } }, 'wrong audience', good);
    await expectRefused(fx, { auth: { token: sign({ sub: 'u', iss: kIssuer }) } }, 'wrong audience', good);
  });
});

// ================================================================ public keys

describe('--jwt_public_key_file with an RSA key (RS256), no secret', () => {
  const fx = useRoomcastd([...kNamespaceFlags, `--jwt_public_key_file=${rsaPemFile}`]);
  const good = { opts: { auth: { token: sign({ sub: 'good-rs' }, { secret: rsa.privateKey, algorithm: 'RS256' }) } }, sub: 'good-rs' };

  it('accepts an RS256 token signed by the matching private key (payload and header)', async () => {
    const token = sign({ sub: 'rs-user', exp: now() + 600 }, { secret: rsa.privateKey, algorithm: 'RS256' });
    await expectAccepted(fx, { auth: { token } }, 'rs-user');
    await expectAccepted(fx, { transports: ['websocket'], extraHeaders: { Authorization: `Bearer ${token}` } }, 'rs-user');
  });

  it('an RS256 token from another key → "bad signature"', async () => {
    const token = sign({ sub: 'u' }, { secret: rsaOther.privateKey, algorithm: 'RS256' });
    await expectRefused(fx, { auth: { token } }, 'bad signature', good);
  });

  it('an HS256 token is refused (no secret configured), even one keyed with the public PEM', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'u' }) } }, /^unsupported algorithm/, good);
    // The classic RS256→HS256 confusion: HMAC keyed with the public key's PEM text.
    await expectRefused(fx, { auth: { token: sign({ sub: 'u' }, { secret: rsaPublicPem }) } }, /^unsupported algorithm/, good);
  });

  it('an expired RS256 token → "token expired"', async () => {
    const token = sign({ sub: 'u', exp: now() - 600 }, { secret: rsa.privateKey, algorithm: 'RS256' });
    await expectRefused(fx, { auth: { token } }, 'token expired', good);
  });
});

describe('ROOMCAST_JWT_PUBLIC_KEY_FILE with an EC P-256 key (ES256), no secret', () => {
  const fx = useRoomcastd(kNamespaceFlags, { env: { ROOMCAST_JWT_PUBLIC_KEY_FILE: ecPemFile } });
  const good = { opts: { auth: { token: sign({ sub: 'good-es' }, { secret: ec.privateKey, algorithm: 'ES256' }) } }, sub: 'good-es' };

  it('accepts an ES256 token signed by the matching private key', async () => {
    const token = sign({ sub: 'es-user', exp: now() + 600 }, { secret: ec.privateKey, algorithm: 'ES256' });
    await expectAccepted(fx, { auth: { token } }, 'es-user');
    await expectAccepted(fx, { transports: ['polling'], extraHeaders: { Authorization: `Bearer ${token}` } }, 'es-user');
  });

  it('an ES256 token from another key, or with a corrupted signature → "bad signature"', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'u' }, { secret: ecOther.privateKey, algorithm: 'ES256' }) } }, 'bad signature', good);
    const [h, p, s] = sign({ sub: 'u' }, { secret: ec.privateKey, algorithm: 'ES256' }).split('.');
    const sig = Buffer.from(s, 'base64url');
    sig[10] ^= 0xff;
    await expectRefused(fx, { auth: { token: `${h}.${p}.${sig.toString('base64url')}` } }, 'bad signature', good);
  });

  it('an HS256 token is refused → "unsupported algorithm ..."', async () => {
    await expectRefused(fx, { auth: { token: sign({ sub: 'u' }) } }, /^unsupported algorithm/, good);
  });
});

// ================================================================ NextAuth / Auth.js cookies

describe('--nextauth_secret: NextAuth v4 and Auth.js v5 session cookies', () => {
  const fx = useRoomcastd([...kNamespaceFlags, `--nextauth_secret=${kNextAuthSecret}`]);
  let good;
  const goodCookie = async () => {
    good ??= {
      opts: { extraHeaders: { cookie: sessionCookie('next-auth.session-token', await nextAuthV4({ sub: 'good-na' })) } },
      sub: 'good-na',
    };
    return good;
  };

  describe('NextAuth v4 (next-auth/jwt encode, A256GCM)', () => {
    for (const name of ['next-auth.session-token', '__Secure-next-auth.session-token']) {
      for (const transports of [['polling'], ['websocket']]) {
        it(`accepts ${name} (transports ${transports}); the user room comes from its sub`, async () => {
          const token = await nextAuthV4({ sub: 'na-user', name: 'Ada', email: 'ada@example.test' });
          await expectAccepted(fx, { transports, extraHeaders: { cookie: sessionCookie(name, token) } }, 'na-user');
        });
      }
    }

    it('finds the session cookie among other cookies', async () => {
      const token = await nextAuthV4({ sub: 'na-mixed' });
      const cookie = `theme=dark; next-auth.csrf-token=abc%7Cdef; next-auth.session-token=${token}; next-auth.callback-url=http%3A%2F%2Flocalhost`;
      await expectAccepted(fx, { extraHeaders: { cookie } }, 'na-mixed');
    });

    it('a cookie encrypted with another secret → "session token does not decrypt with this secret"', async () => {
      const token = await nextAuthV4({ sub: 'u' }, { secret: 'not-the-nextauth-secret' });
      await expectRefused(fx, { headers: { cookie: sessionCookie('next-auth.session-token', token) } }, 'session token does not decrypt with this secret', await goodCookie());
    });

    it('an expired session (maxAge in the past) → "token expired"', async () => {
      const token = await nextAuthV4({ sub: 'u' }, { maxAge: -3600 });
      await expectRefused(fx, { headers: { cookie: sessionCookie('next-auth.session-token', token) } }, 'token expired', await goodCookie());
    });

    for (const chunks of [2, 3]) {
      for (const transports of [['polling'], ['websocket']]) {
        it(`accepts a session chunked into ${chunks} cookies (.0, .1, …; transports ${transports})`, async () => {
          const token = await nextAuthV4({ sub: 'na-chunked', picture: 'x'.repeat(500) });
          const cookie = sessionCookie('next-auth.session-token', token, { chunks });
          await expectAccepted(fx, { transports, extraHeaders: { cookie } }, 'na-chunked');
        });
      }
    }

    // Sessions over 4 KB are why NextAuth chunks: a session of 2, 3 and 4 chunks
    // as next-auth itself writes them (a Cookie header of ~4.3, ~8.3 and ~12.3 KB,
    // all within the 16 KB Node.js, hence a Next.js app, accepts).
    for (const [blob, chunks] of [[3000, 2], [6000, 3], [9000, 4]]) {
      for (const transports of [['polling'], ['websocket']]) {
        it(`accepts a large session in ${chunks} chunks as next-auth writes them (transports ${transports})`, async () => {
          const token = await nextAuthV4({ sub: 'na-large', idToken: crypto.randomBytes(blob).toString('base64url').slice(0, blob) });
          const cookie = nextAuthCookieHeader('__Secure-next-auth.session-token', token);
          assert.equal(cookie.split('; ').length, chunks, 'chunks written by next-auth');
          await expectAccepted(fx, { transports, extraHeaders: { cookie } }, 'na-large');
        });
      }
    }

    it('joins chunks by their index, not by their order in the header', async () => {
      const token = await nextAuthV4({ sub: 'na-reordered' });
      const cookie = sessionCookie('__Secure-next-auth.session-token', token, { chunks: 3, order: [2, 0, 1] });
      await expectAccepted(fx, { extraHeaders: { cookie } }, 'na-reordered');
    });

    it('a chunked session missing a chunk is refused', async () => {
      const token = await nextAuthV4({ sub: 'u' });
      const [c0, , c2] = split(token, 3);
      const cookie = `next-auth.session-token.0=${c0}; next-auth.session-token.2=${c2}`;
      await expectRefused(fx, { headers: { cookie } }, /^(malformed session token|session token does not decrypt with this secret)/, await goodCookie());
    });

    it('a garbage cookie value → "malformed session token..."', async () => {
      await expectRefused(fx, { headers: { cookie: 'next-auth.session-token=garbage' } }, /^malformed session token/, await goodCookie());
      await expectRefused(fx, { headers: { cookie: 'next-auth.session-token=a.b.c.d.e' } }, /^malformed session token/, await goodCookie());
    });

    it('no session cookie → "missing token"', async () => {
      await expectRefused(fx, {}, 'missing token', await goodCookie());
      await expectRefused(fx, { headers: { cookie: 'theme=dark; next-auth.csrf-token=abc' } }, 'missing token', await goodCookie());
    });
  });

  describe('Auth.js v5 (@auth/core/jwt encode, A256CBC-HS512, salt = cookie name)', () => {
    for (const name of ['authjs.session-token', '__Secure-authjs.session-token']) {
      for (const transports of [['polling'], ['websocket']]) {
        it(`accepts ${name} (transports ${transports})`, async () => {
          const token = await authJs({ sub: 'aj-user', name: 'Grace' }, { salt: name });
          await expectAccepted(fx, { transports, extraHeaders: { cookie: sessionCookie(name, token) } }, 'aj-user');
        });
      }
    }

    it('accepts a chunked Auth.js session', async () => {
      const token = await authJs({ sub: 'aj-chunked', picture: 'y'.repeat(400) }, { salt: '__Secure-authjs.session-token' });
      await expectAccepted(fx, { extraHeaders: { cookie: sessionCookie('__Secure-authjs.session-token', token, { chunks: 2 }) } }, 'aj-chunked');
    });

    it('a token minted for one cookie name and sent under the other is refused (the salt is the name)', async () => {
      const token = await authJs({ sub: 'u' }, { salt: 'authjs.session-token' });
      await expectRefused(fx, { headers: { cookie: sessionCookie('__Secure-authjs.session-token', token) } }, 'session token does not decrypt with this secret', await goodCookie());
    });

    it('another secret → "session token does not decrypt with this secret"', async () => {
      const token = await authJs({ sub: 'u' }, { secret: 'not-the-nextauth-secret' });
      await expectRefused(fx, { headers: { cookie: sessionCookie('authjs.session-token', token) } }, 'session token does not decrypt with this secret', await goodCookie());
    });

    it('an expired Auth.js session → "token expired"', async () => {
      const token = await authJs({ sub: 'u' }, { maxAge: -3600 });
      await expectRefused(fx, { headers: { cookie: sessionCookie('authjs.session-token', token) } }, 'token expired', await goodCookie());
    });
  });

  it('every tab of a cookie user gets an emit to user:<sub>', async (t) => {
    const v4 = await nextAuthV4({ sub: 'cookie-u1' });
    const tab1 = await connect(fx.url(), { transports: ['websocket'], extraHeaders: { cookie: sessionCookie('next-auth.session-token', v4) } });
    t.after(() => tab1.close());
    const tab2 = await connect(fx.url(), { transports: ['polling'], extraHeaders: { cookie: sessionCookie('next-auth.session-token', v4, { chunks: 2 }) } });
    t.after(() => tab2.close());
    const got1 = waitFor(tab1, 'note');
    const got2 = waitFor(tab2, 'note');
    const res = okJson(await api(fx.port, 'POST', '/api/socket/emit', { room: 'user:cookie-u1', event: 'note', data: { hi: 1 } }));
    assert.equal(res.recipients, '2', JSON.stringify(res));
    assert.deepEqual(await got1, { hi: 1 });
    assert.deepEqual(await got2, { hi: 1 });
  });

  it('the public namespace needs no cookie', async () => {
    const socket = await connect(fx.url('127.0.0.1', '/public'));
    try {
      assert.deepEqual(await roomsOf(socket), []);
    } finally {
      socket.close();
    }
  });
});

describe('JWT_SECRET and NEXTAUTH_SECRET together', () => {
  const fx = useRoomcastd(kNamespaceFlags, { env: { JWT_SECRET: kSecret, NEXTAUTH_SECRET: kNextAuthSecret } });
  const good = { opts: { auth: { token: sign({ sub: 'good-both' }) } }, sub: 'good-both' };

  it('a bearer token (payload or header) is accepted', async () => {
    await expectAccepted(fx, { auth: { token: sign({ sub: 'both-jwt' }) } }, 'both-jwt');
    await expectAccepted(fx, { extraHeaders: { Authorization: `Bearer ${sign({ sub: 'both-jwt' })}` } }, 'both-jwt');
  });

  it('without a bearer token, the session cookie is accepted (v4 and v5)', async () => {
    const v4 = await nextAuthV4({ sub: 'both-cookie' });
    await expectAccepted(fx, { extraHeaders: { cookie: sessionCookie('next-auth.session-token', v4) } }, 'both-cookie');
    const v5 = await authJs({ sub: 'both-cookie5' });
    await expectAccepted(fx, { extraHeaders: { cookie: sessionCookie('authjs.session-token', v5) } }, 'both-cookie5');
  });

  it('neither → "missing token"; a bad session cookie → its own message', async () => {
    await expectRefused(fx, {}, 'missing token', good);
    const wrong = await nextAuthV4({ sub: 'u' }, { secret: 'wrong' });
    await expectRefused(fx, { headers: { cookie: sessionCookie('next-auth.session-token', wrong) } }, 'session token does not decrypt with this secret', good);
  });
});

// ================================================================ startup rules

describe('startup', () => {
  const kProd = { NODE_ENV: 'production', INTERNAL_API_KEY: 'prod-internal-key' };
  const kBase = ['--port=0', '--grpc_port=0'];

  it('NODE_ENV=production with INTERNAL_API_KEY but no browser secret refuses to start, naming JWT_SECRET', async () => {
    const run = await runToExit(kBase, { env: kProd });
    assert.equal(run.timedOut, false, `roomcastd kept running:\n${run.stdout}${run.stderr}`);
    assert.notEqual(run.code, 0, `exit code: ${run.code}\n${run.stderr}`);
    assert.match(run.stderr, /JWT_SECRET/);
  });

  async function startsAndServes(flags, env, check) {
    const server = await startRoomcastd(flags, { env });
    try {
      await check?.(server);
    } finally {
      await stopServer(server);
    }
  }

  it('…but starts with --insecure (anonymous browsers)', async () => {
    await startsAndServes(['--insecure'], kProd, async ({ port }) => {
      const socket = await connect(`http://127.0.0.1:${port}`);
      try {
        assert.deepEqual(await roomsOf(socket), []);
      } finally {
        socket.close();
      }
    });
  });

  it('…and starts with JWT_SECRET, NEXTAUTH_SECRET or ROOMCAST_JWT_PUBLIC_KEY_FILE, then requires a token', async () => {
    for (const env of [{ JWT_SECRET: kSecret }, { NEXTAUTH_SECRET: kNextAuthSecret }, { ROOMCAST_JWT_PUBLIC_KEY_FILE: rsaPemFile }]) {
      await startsAndServes([], { ...kProd, ...env }, async ({ port }) => {
        const err = await connectError(`http://127.0.0.1:${port}`);
        assert.equal(err.message, 'missing token', JSON.stringify(env));
      });
    }
    await startsAndServes([], { ...kProd, JWT_SECRET: kSecret }, async ({ port }) => {
      const socket = await connect(`http://127.0.0.1:${port}`, { auth: { token: sign({ sub: 'prod-user' }) } });
      try {
        await assertUserRooms(socket, 'prod-user');
      } finally {
        socket.close();
      }
    });
  });

  it('a --jwt_public_key_file that is not a PEM public key stops startup, naming the flag', async () => {
    const garbage = writeTmp('garbage.pem', 'this is not a PEM file\n');
    const truncated = writeTmp('truncated.pem', rsaPublicPem.slice(0, 120));
    for (const file of [garbage, truncated, path.join(tmpDir, 'does-not-exist.pem')]) {
      const run = await runToExit([...kBase, `--jwt_public_key_file=${file}`]);
      assert.equal(run.timedOut, false, `roomcastd kept running with ${file}:\n${run.stdout}${run.stderr}`);
      assert.notEqual(run.code, 0, `${file}: exit code ${run.code}`);
      assert.match(run.stderr, /jwt_public_key_file/, `${file}: ${run.stderr}`);
    }
    const viaEnv = await runToExit(kBase, { env: { ROOMCAST_JWT_PUBLIC_KEY_FILE: garbage } });
    assert.equal(viaEnv.timedOut, false);
    assert.notEqual(viaEnv.code, 0);
    assert.match(viaEnv.stderr, /ROOMCAST_JWT_PUBLIC_KEY_FILE|jwt_public_key_file/);
  });
});

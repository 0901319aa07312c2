// Browser authentication by NextAuth / Auth.js session cookie (issue 4,
// "Browser authentication"): with --nextauth_secret / NEXTAUTH_SECRET every
// Socket.IO CONNECT outside --public_namespaces needs a valid NextAuth v4 or
// Auth.js v5 session cookie (also chunked), or, with JWT_SECRET as well, a
// bearer token. A refusal is a CONNECT_ERROR whose message says why, and
// nothing else happens for that socket. An accepted socket is in the room
// `user:<sub>`, which the control plane reaches (every tab of the user).
//
// Tokens are minted by independent implementations: next-auth's own `encode`
// (v4, A256GCM) and @auth/core's `encode` (Auth.js v5, A256CBC-HS512, salt =
// cookie name) for session cookies, `jsonwebtoken` for JWS.
// JWT verification: auth_jwt.test.js; user rooms and public namespaces:
// auth_room_policy.test.js; the shared setup and assertions: ../support/auth.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { encode as encodeNextAuthV4 } from 'next-auth/jwt';
import { encode as encodeAuthJs } from '@auth/core/jwt';
import { clearAuthEnv, expectAccepted, expectRefused, kNamespaceFlags, kNextAuthSecret, kSecret, sign } from '../support/auth.js';
import { api, okJson } from '../support/control.js';
import { useRoomcastd } from '../support/fixtures.js';
import { connect, roomsOf, waitFor } from '../support/sio.js';

clearAuthEnv();

// @auth/core's encode calls the global Web Crypto (crypto.randomUUID()), a global
// from Node 19 on; Debian 12's Node 18 has it only as node:crypto's webcrypto.
globalThis.crypto ??= crypto.webcrypto;

// ---------------------------------------------------------------- session tokens

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

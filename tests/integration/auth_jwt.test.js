// Browser authentication by JWT (issue 4, "Browser authentication"): with a
// browser secret configured (--jwt_secret / JWT_SECRET, --jwt_public_key_file /
// ROOMCAST_JWT_PUBLIC_KEY_FILE) every Socket.IO CONNECT outside
// --public_namespaces needs a valid token: in the auth payload ({token}) or an
// `Authorization: Bearer` header on the handshake. HS256/384/512, RS256 and
// ES256; exp/nbf with a leeway (default 60 s, --jwt_leeway_s); --jwt_issuer and
// --jwt_audience. A refusal is a CONNECT_ERROR whose message says why, and
// nothing else happens for that socket. NODE_ENV=production needs a browser
// secret unless --insecure; a bad PEM file stops startup naming the flag.
//
// Tokens are minted by an independent implementation, `jsonwebtoken`.
// NextAuth / Auth.js session cookies: auth_nextauth.test.js; user rooms,
// public namespaces and what follows a refusal: auth_room_policy.test.js;
// the shared setup and assertions: ../support/auth.js.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  assertUserRooms,
  clearAuthEnv,
  expectAccepted,
  expectRefused,
  kNamespaceFlags,
  kNextAuthSecret,
  kOtherSecret,
  kSecret,
  now,
  sign,
} from '../support/auth.js';
import { runToExit, stopServer, useRoomcastd } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { connect, connectError, roomsOf } from '../support/sio.js';

clearAuthEnv();

const kIssuer = 'https://auth.example.test';
const kAudience = 'roomcast';

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

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`, empty signature). */
function unsigned(claims) {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
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

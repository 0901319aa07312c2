// Browser authentication and rooms (issue 4, "Browser authentication"): an
// accepted socket is in the room `user:<sub>`, which the control plane reaches
// (every tab of the user, the userId selector); --public_namespaces connect
// without a token and put the socket in no user room; after a refusal the same
// connection may CONNECT again, and a refused socket is in no room.
// The token `rooms` claim and --room_policy are in limits_policy.test.js.
//
// Tokens are minted by `jsonwebtoken`. JWT verification: auth_jwt.test.js;
// session cookies: auth_nextauth.test.js; the shared setup and assertions:
// ../support/auth.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertUserRooms,
  clearAuthEnv,
  expectRefused,
  kNamespaceFlags,
  kOtherSecret,
  kSecret,
  now,
  sign,
} from '../support/auth.js';
import { api, okJson, show } from '../support/control.js';
import { useRoomcastd } from '../support/fixtures.js';
import { RawWs } from '../support/raw.js';
import { connect, connectError, expectNoEvent, roomsOf, waitFor } from '../support/sio.js';

clearAuthEnv();

// The same server as the HS256 suite of auth_jwt.test.js (JWT_SECRET, the
// namespaces /, /public, /other), under the same title.
describe('JWT_SECRET (HS256/384/512), env var, default leeway 60 s', () => {
  const fx = useRoomcastd(kNamespaceFlags, { env: { JWT_SECRET: kSecret } });
  const good = { opts: { auth: { token: sign({ sub: 'good-hs' }) } }, sub: 'good-hs' };

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

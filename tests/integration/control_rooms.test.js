// Room and socket management over the HTTP shim: POST /v1/rooms:join,
// /v1/rooms:leave and /v1/sockets:disconnect selecting sockets by id, room or
// user id, and GET /v1/rooms/sockets (presence), checked against what the
// socket.io clients see.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import { api, assertRpcError, Code, emitHttp, okJson, pollUntil, show, useControlServer } from '../support/control.js';
import { expectNoEvent, kStepTimeoutMs, roomsOf, waitFor, withTimeout } from '../support/sio.js';

const fx = useControlServer(['--namespaces=/,/admin']);

async function client(t, rooms = [], { nsp, transports = ['websocket'] } = {}) {
  const socket = await fx.connect({ transports, ...(rooms.length ? { auth: { rooms } } : {}) }, { nsp });
  t.after(() => socket.close());
  return socket;
}

/** POSTs a management call and returns the `sockets` count (a proto3-JSON uint64 string) as a Number. */
async function manage(path, body) {
  const res = await api(fx.port, 'POST', path, body);
  const json = okJson(res);
  assert.deepEqual(Object.keys(json), ['sockets'], show(res));
  assert.equal(typeof json.sockets, 'string', `sockets is a uint64 string: ${show(res)}`);
  assert.match(json.sockets, /^\d+$/);
  return Number(json.sockets);
}

/** GET /v1/rooms/sockets: resolves the sockets list sorted by id. */
async function presence(query) {
  const res = await api(fx.port, 'GET', `/v1/rooms/sockets?${query}`);
  const json = okJson(res);
  const list = json.sockets ?? [];
  assert.ok(Array.isArray(list), show(res));
  for (const s of list) {
    assert.equal(typeof s.id, 'string', show(res));
    assert.ok(Array.isArray(s.rooms), `rooms array for ${s.id}: ${show(res)}`);
  }
  return list.sort((a, b) => (a.id < b.id ? -1 : 1));
}

describe('POST /v1/rooms:join and /v1/rooms:leave', () => {
  it('by socket id', async (t) => {
    const s = await client(t);
    const other = await client(t);
    assert.equal(await manage('/v1/rooms:join', { sockets: { namespace: '/', socketId: s.id }, rooms: ['j-a', 'j-b'] }), 1);
    assert.deepEqual(await roomsOf(s), ['j-a', 'j-b']);
    assert.deepEqual(await roomsOf(other), []);
    const got = waitFor(s, 'joined-event');
    await emitHttp(fx.port, { room: 'j-b', event: 'joined-event', data: 'hi' }, { recipients: 1 });
    assert.equal(await got, 'hi');

    assert.equal(await manage('/v1/rooms:leave', { sockets: { socketId: s.id }, rooms: ['j-a'] }), 1);
    assert.deepEqual(await roomsOf(s), ['j-b']);
    await emitHttp(fx.port, { room: 'j-a', event: 'gone', data: 1 }, { recipients: 0 });
  });

  it('by room: every socket of the room', async (t) => {
    const a = await client(t, ['by-room']);
    const b = await client(t, ['by-room', 'extra']);
    const c = await client(t, ['elsewhere']);
    assert.equal(await manage('/v1/rooms:join', { sockets: { room: 'by-room' }, rooms: ['promoted'] }), 2);
    assert.deepEqual(await roomsOf(a), ['by-room', 'promoted']);
    assert.deepEqual(await roomsOf(b), ['by-room', 'extra', 'promoted']);
    assert.deepEqual(await roomsOf(c), ['elsewhere']);
    assert.equal(await manage('/v1/rooms:leave', { sockets: { room: 'promoted' }, rooms: ['promoted', 'extra'] }), 2);
    assert.deepEqual(await roomsOf(a), ['by-room']);
    assert.deepEqual(await roomsOf(b), ['by-room']);
  });

  it('by user id: every socket in user:<id>', async (t) => {
    const tab1 = await client(t, ['user:u-42']);
    const tab2 = await client(t, ['user:u-42']);
    const stranger = await client(t, ['user:u-7']);
    assert.equal(await manage('/v1/rooms:join', { sockets: { userId: 'u-42' }, rooms: ['vip'] }), 2);
    assert.deepEqual(await roomsOf(tab1), ['user:u-42', 'vip']);
    assert.deepEqual(await roomsOf(tab2), ['user:u-42', 'vip']);
    assert.deepEqual(await roomsOf(stranger), ['user:u-7']);
    assert.equal(await manage('/v1/rooms:leave', { sockets: { userId: 'u-42' }, rooms: ['vip'] }), 2);
    assert.deepEqual(await roomsOf(tab1), ['user:u-42']);
  });

  it('stays inside the selected namespace', async (t) => {
    const main = await client(t, ['ns-room']);
    const admin = await client(t, ['ns-room'], { nsp: '/admin' });
    assert.equal(await manage('/v1/rooms:join', { sockets: { namespace: '/admin', room: 'ns-room' }, rooms: ['admins-only'] }), 1);
    assert.deepEqual(await roomsOf(admin), ['admins-only', 'ns-room']);
    assert.deepEqual(await roomsOf(main), ['ns-room']);
  });

  it('no matching socket answers "0"', async () => {
    assert.equal(await manage('/v1/rooms:join', { sockets: { socketId: 'no-such-socket' }, rooms: ['x'] }), 0);
    assert.equal(await manage('/v1/rooms:leave', { sockets: { room: 'empty-room' }, rooms: ['x'] }), 0);
  });

  it('an invalid room name is INVALID_ARGUMENT', async (t) => {
    const s = await client(t);
    const res = await api(fx.port, 'POST', '/v1/rooms:join', { sockets: { socketId: s.id }, rooms: [''] });
    assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT });
    assert.deepEqual(await roomsOf(s), []);
  });
});

describe('GET /v1/rooms/sockets', () => {
  it('lists the sockets of a room with their rooms', async (t) => {
    const a = await client(t, ['presence', 'p-extra']);
    const b = await client(t, ['presence']);
    await client(t, ['not-presence']);
    const expected = [a, b].map((s) => s.id).sort();
    for (const query of ['namespace=/&room=presence', 'namespace=%2F&room=presence', 'room=presence']) {
      const list = await presence(query);
      assert.deepEqual(list.map((s) => s.id), expected, query);
      const byId = Object.fromEntries(list.map((s) => [s.id, s.rooms]));
      assert.ok(byId[a.id].includes('presence') && byId[a.id].includes('p-extra'), JSON.stringify(byId));
      assert.ok(byId[b.id].includes('presence'), JSON.stringify(byId));
      assert.ok(!byId[b.id].includes('p-extra'), JSON.stringify(byId));
    }
  });

  it('an empty room lists no sockets', async () => {
    assert.deepEqual(await presence('namespace=/&room=vacant'), []);
  });

  it('keeps namespaces apart and sees sockets leave', async (t) => {
    const admin = await client(t, ['shared'], { nsp: '/admin' });
    const main = await client(t, ['shared']);
    assert.deepEqual((await presence('namespace=/admin&room=shared')).map((s) => s.id), [admin.id]);
    assert.deepEqual((await presence('room=shared')).map((s) => s.id), [main.id]);
    main.close();
    await pollUntil(async () => (await presence('room=shared')).length === 0, { timeoutMs: 3000, intervalMs: 50, what: 'a closed socket to leave the presence list' });
  });
});

describe('POST /v1/sockets:disconnect', () => {
  it('by socket id, keeping the connection: the client sees "io server disconnect"', async (t) => {
    const s = await client(t);
    const other = await client(t);
    const reason = waitFor(s, 'disconnect');
    assert.equal(await manage('/v1/sockets:disconnect', { sockets: { namespace: '/', socketId: s.id }, closeConnection: false }), 1);
    assert.equal(await reason, 'io server disconnect');
    assert.equal(other.connected, true);
    assert.deepEqual(await roomsOf(other), []);
  });

  it('closeConnection:false leaves the client\'s other namespaces connected', async (t) => {
    const manager = new Manager(fx.url(), { reconnection: false, transports: ['websocket'], timeout: kStepTimeoutMs });
    t.after(() => manager.engine?.close());
    const main = manager.socket('/');
    const admin = manager.socket('/admin');
    await withTimeout(Promise.all([waitFor(main, 'connect'), waitFor(admin, 'connect')]), kStepTimeoutMs, 'both namespaces');
    const reason = waitFor(main, 'disconnect');
    const adminStays = expectNoEvent(admin, 'disconnect', 500);
    assert.equal(await manage('/v1/sockets:disconnect', { sockets: { socketId: main.id } }), 1);
    assert.equal(await reason, 'io server disconnect');
    await adminStays;
    assert.deepEqual(await roomsOf(admin), []);
  });

  it('closeConnection:true closes the client\'s connection, every namespace of it', async (t) => {
    const manager = new Manager(fx.url(), { reconnection: false, transports: ['websocket'], timeout: kStepTimeoutMs });
    t.after(() => manager.engine?.close());
    const main = manager.socket('/');
    const admin = manager.socket('/admin');
    await withTimeout(Promise.all([waitFor(main, 'connect'), waitFor(admin, 'connect')]), kStepTimeoutMs, 'both namespaces');
    const reasons = [waitFor(main, 'disconnect'), waitFor(admin, 'disconnect')];
    assert.equal(await manage('/v1/sockets:disconnect', { sockets: { socketId: main.id }, closeConnection: true }), 1);
    const [r1, r2] = await Promise.all(reasons);
    assert.match(r1, /^transport (close|error)$/, 'the connection itself closed');
    assert.match(r2, /^transport (close|error)$/);
  });

  it('by room and by user id', async (t) => {
    const a = await client(t, ['kick-room']);
    const b = await client(t, ['kick-room'], { transports: ['polling'] });
    const keep = await client(t, ['keep-room']);
    const reasons = [waitFor(a, 'disconnect'), waitFor(b, 'disconnect')];
    assert.equal(await manage('/v1/sockets:disconnect', { sockets: { room: 'kick-room' } }), 2);
    assert.deepEqual(await Promise.all(reasons), ['io server disconnect', 'io server disconnect']);
    assert.equal(keep.connected, true);

    const u1 = await client(t, ['user:bye']);
    const u2 = await client(t, ['user:bye']);
    const userReasons = [waitFor(u1, 'disconnect'), waitFor(u2, 'disconnect')];
    assert.equal(await manage('/v1/sockets:disconnect', { sockets: { userId: 'bye' } }), 2);
    assert.deepEqual(await Promise.all(userReasons), ['io server disconnect', 'io server disconnect']);
    assert.equal(keep.connected, true);
    assert.deepEqual(await roomsOf(keep), ['keep-room']);
  });

  it('a disconnected socket gets no more events and leaves presence', async (t) => {
    const s = await client(t, ['after-kick']);
    const reason = waitFor(s, 'disconnect');
    assert.equal(await manage('/v1/sockets:disconnect', { sockets: { socketId: s.id } }), 1);
    await reason;
    await emitHttp(fx.port, { room: 'after-kick', event: 'late', data: 1 }, { recipients: 0 });
    assert.deepEqual(await presence('room=after-kick'), []);
  });

  it('no matching socket answers "0"', async () => {
    assert.equal(await manage('/v1/sockets:disconnect', { sockets: { socketId: 'nobody' }, closeConnection: true }), 0);
  });
});

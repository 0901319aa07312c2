// Namespaces, join/leave acks (single, list, all-or-nothing), rooms requested
// at connect, the built-in `rooms` event, unknown events and `except` rooms.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startRoomcastd } from '../support/process.js';
import { stopServer, useRoomcastd } from '../support/fixtures.js';
import { baseUrl, broadcast, connect, connectError, emitWithAck, expectNoEvent, roomsOf, waitFor } from '../support/sio.js';

const fx = useRoomcastd(['--namespaces=/,/admin', '--enable_client_broadcast']);

/** Asserts a refused join/leave ack with `code`, and (when given) the refused room. */
function assertRefused(ack, code, ...room) {
  assert.equal(ack.ok, false, JSON.stringify(ack));
  assert.equal(ack.error?.code, code, JSON.stringify(ack));
  assert.equal(typeof ack.error.message, 'string');
  if (room.length) assert.deepEqual(ack.error.room, room[0]);
}

describe('namespaces', () => {
  it('connects to / and to the configured /admin', async () => {
    const main = await fx.connect();
    const admin = await fx.connect({}, { nsp: '/admin' });
    assert.equal(main.connected, true);
    assert.equal(admin.connected, true);
    assert.notEqual(admin.id, main.id);
    assert.deepEqual(await roomsOf(admin), []);
  });

  it('refuses an unconfigured namespace with "Invalid namespace"', async () => {
    const err = await connectError(fx.url('127.0.0.1', '/nope'));
    assert.equal(err.message, 'Invalid namespace');
  });

  it('keeps rooms of different namespaces apart', async () => {
    const main = await fx.connect();
    const admin = await fx.connect({}, { nsp: '/admin' });
    await emitWithAck(main, 'join', 'shared-name');
    await emitWithAck(admin, 'join', 'shared-name');
    const notAtAdmin = expectNoEvent(admin, 'ns-news');
    const atMain = waitFor(main, 'ns-news');
    assert.deepEqual(await broadcast(main, { room: 'shared-name', event: 'ns-news', data: 1 }), { ok: true, recipients: 1 });
    assert.equal(await atMain, 1);
    await notAtAdmin;
  });

  it('serves a namespace from ROOMCAST_NAMESPACES', async (t) => {
    const server = await startRoomcastd([], { env: { ROOMCAST_NAMESPACES: '/,/env-ns' } });
    t.after(() => stopServer(server));
    const socket = await connect(`${baseUrl(server.port)}/env-ns`);
    t.after(() => socket.close());
    assert.deepEqual(await roomsOf(socket), []);
    const err = await connectError(`${baseUrl(server.port)}/admin`);
    assert.equal(err.message, 'Invalid namespace');
  });
});

describe('join and leave', () => {
  it('joins one room and acks the sorted room list without the id room', async () => {
    const s = await fx.connect();
    assert.deepEqual(await emitWithAck(s, 'join', 'b'), { ok: true, rooms: ['b'] });
    assert.deepEqual(await emitWithAck(s, 'join', 'a'), { ok: true, rooms: ['a', 'b'] });
    assert.deepEqual(await emitWithAck(s, 'join', ['d', 'c']), { ok: true, rooms: ['a', 'b', 'c', 'd'] });
    assert.deepEqual(await emitWithAck(s, 'join', 'a'), { ok: true, rooms: ['a', 'b', 'c', 'd'] }, 'joining twice is a no-op');
    assert.deepEqual(await roomsOf(s), ['a', 'b', 'c', 'd']);
  });

  it('leaves one room or a list', async () => {
    const s = await fx.connect();
    await emitWithAck(s, 'join', ['a', 'b', 'c', 'd']);
    assert.deepEqual(await emitWithAck(s, 'leave', 'b'), { ok: true, rooms: ['a', 'c', 'd'] });
    assert.deepEqual(await emitWithAck(s, 'leave', ['a', 'd']), { ok: true, rooms: ['c'] });
    assert.deepEqual(await emitWithAck(s, 'leave', 'never-joined'), { ok: true, rooms: ['c'] });
    assert.deepEqual(await emitWithAck(s, 'leave', 'c'), { ok: true, rooms: [] });
  });

  it('sorts by code point, including non-ASCII names', async () => {
    const s = await fx.connect();
    const ack = await emitWithAck(s, 'join', ['zeta', 'Zeta', 'élan', 'alpha', '10', '9']);
    assert.deepEqual(ack, { ok: true, rooms: ['10', '9', 'Zeta', 'alpha', 'zeta', 'élan'] });
  });

  it('refuses invalid rooms with invalid_room', async () => {
    const s = await fx.connect();
    assertRefused(await emitWithAck(s, 'join', ''), 'invalid_room', '');
    assertRefused(await emitWithAck(s, 'join', 42), 'invalid_room');
    assertRefused(await emitWithAck(s, 'join', null), 'invalid_room');
    assertRefused(await emitWithAck(s, 'join', { room: 'x' }), 'invalid_room');
    assertRefused(await emitWithAck(s, 'join'), 'invalid_room');
    assertRefused(await emitWithAck(s, 'leave', ''), 'invalid_room', '');
    assert.deepEqual(await roomsOf(s), []);
  });

  it('limits room names to 256 bytes of UTF-8', async () => {
    const s = await fx.connect();
    const ascii256 = 'a'.repeat(256);
    const utf8At256 = 'é'.repeat(128); // 2 bytes each
    assert.deepEqual(await emitWithAck(s, 'join', ascii256), { ok: true, rooms: [ascii256] });
    assert.deepEqual(await emitWithAck(s, 'join', utf8At256), { ok: true, rooms: [ascii256, utf8At256] });
    assertRefused(await emitWithAck(s, 'join', 'a'.repeat(257)), 'invalid_room', 'a'.repeat(257));
    assertRefused(await emitWithAck(s, 'join', 'é'.repeat(129)), 'invalid_room', 'é'.repeat(129));
  });

  it('applies a list all-or-nothing and names the first refused room', async () => {
    const s = await fx.connect();
    await emitWithAck(s, 'join', 'kept');
    assertRefused(await emitWithAck(s, 'join', ['x', '', 'y', 'z'.repeat(300)]), 'invalid_room', '');
    assertRefused(await emitWithAck(s, 'join', ['x', 'z'.repeat(300), '']), 'invalid_room', 'z'.repeat(300));
    assert.deepEqual(await roomsOf(s), ['kept'], 'no room of a refused list was joined');
    assertRefused(await emitWithAck(s, 'leave', ['kept', 7]), 'invalid_room');
    assert.deepEqual(await roomsOf(s), ['kept'], 'no room of a refused list was left');
  });
});

describe('rooms at connect (auth.rooms)', () => {
  it('joins the requested rooms during CONNECT', async () => {
    const s = await fx.connect({ auth: { rooms: ['b', 'a'] } });
    assert.deepEqual(await roomsOf(s), ['a', 'b']);
    const admin = await fx.connect({ auth: { rooms: ['ops'] } }, { nsp: '/admin' });
    assert.deepEqual(await roomsOf(admin), ['ops']);
  });

  it('delivers to a room joined at connect', async () => {
    const listener = await fx.connect({ auth: { rooms: ['auth-room'] } });
    const sender = await fx.connect();
    const got = waitFor(listener, 'hello');
    assert.deepEqual(await broadcast(sender, { room: 'auth-room', event: 'hello', data: 'hi' }), { ok: true, recipients: 1 });
    assert.equal(await got, 'hi');
  });

  it('fails the CONNECT with a connect_error naming an invalid room', async () => {
    const bad = 'q'.repeat(257);
    const err = await connectError(fx.url(), { auth: { rooms: ['fine', bad] } });
    assert.match(err.message, new RegExp(bad));
  });

  it('fails the CONNECT for an empty room name', async () => {
    const err = await connectError(fx.url(), { auth: { rooms: ['fine', ''] } });
    assert.ok(err.message.length > 0);
    assert.notEqual(err.message, 'Invalid namespace');
  });
});

describe('other events', () => {
  it('`rooms` reports membership without changing it', async () => {
    const s = await fx.connect();
    await emitWithAck(s, 'join', ['r2', 'r1']);
    assert.deepEqual(await emitWithAck(s, 'rooms'), { ok: true, rooms: ['r1', 'r2'] });
    assert.deepEqual(await emitWithAck(s, 'rooms'), { ok: true, rooms: ['r1', 'r2'] });
  });

  it('acks an event no service takes with unavailable and ignores one without ack', async () => {
    const s = await fx.connect();
    const ack = await emitWithAck(s, 'no-such-event', { a: 1 });
    assert.equal(ack.ok, false);
    assert.equal(ack.error.code, 'unavailable');
    assert.equal(typeof ack.error.message, 'string');
    s.emit('no-such-event-either', 1, 2, 3);
    assert.deepEqual(await emitWithAck(s, 'rooms'), { ok: true, rooms: [] }, 'connection still served');
    assert.equal(s.connected, true);
  });

  it('`broadcast` is an event for services (unavailable without one) without --enable_client_broadcast', async (t) => {
    const server = await startRoomcastd([]);
    t.after(() => stopServer(server));
    const s = await connect(baseUrl(server.port), { auth: { rooms: ['r'] } });
    t.after(() => s.close());
    const notDelivered = expectNoEvent(s, 'ev');
    const ack = await emitWithAck(s, 'broadcast', { room: 'r', event: 'ev', data: 1 });
    assert.equal(ack.ok, false);
    assert.equal(ack.error.code, 'unavailable');
    await notDelivered;
  });
});

describe('broadcast targets', () => {
  it('skips sockets in an `except` room', async () => {
    const a = await fx.connect({ auth: { rooms: ['ex-r', 'ex-muted'] } });
    const b = await fx.connect({ auth: { rooms: ['ex-r'] } });
    const notAtA = expectNoEvent(a, 'ex-ev');
    const atB = waitFor(b, 'ex-ev');
    assert.deepEqual(await broadcast(a, { room: 'ex-r', except: ['ex-muted'], event: 'ex-ev', data: { n: 1 } }), { ok: true, recipients: 1 });
    assert.deepEqual(await atB, { n: 1 });
    await notAtA;
  });

  it('delivers once to a socket in several target rooms, sender included', async () => {
    const a = await fx.connect({ auth: { rooms: ['multi-1', 'multi-2'] } });
    const b = await fx.connect({ auth: { rooms: ['multi-2'] } });
    const c = await fx.connect({ auth: { rooms: ['multi-3'] } });
    let countA = 0;
    a.on('multi-ev', () => (countA += 1));
    const atA = waitFor(a, 'multi-ev');
    const atB = waitFor(b, 'multi-ev');
    const notAtC = expectNoEvent(c, 'multi-ev');
    assert.deepEqual(await broadcast(a, { rooms: ['multi-1', 'multi-2'], event: 'multi-ev', data: 'x' }), { ok: true, recipients: 2 });
    await Promise.all([atA, atB, notAtC]);
    assert.equal(countA, 1);
  });

  it('reaches a socket through its own id room', async () => {
    const a = await fx.connect();
    const b = await fx.connect();
    const atA = waitFor(a, 'direct');
    const notAtB = expectNoEvent(b, 'direct');
    assert.deepEqual(await broadcast(b, { room: a.id, event: 'direct', data: 'to-a' }), { ok: true, recipients: 1 });
    assert.equal(await atA, 'to-a');
    await notAtB;
  });

  it('reports 0 recipients for an empty room', async () => {
    const a = await fx.connect();
    assert.deepEqual(await broadcast(a, { room: 'nobody-here', event: 'x', data: 1 }), { ok: true, recipients: 0 });
  });

  it('stops delivering after leave and after disconnect', async () => {
    const a = await fx.connect({ auth: { rooms: ['gone'] } });
    const b = await fx.connect({ auth: { rooms: ['gone'] } });
    const sender = await fx.connect();
    await emitWithAck(a, 'leave', 'gone');
    b.close();
    const notAtA = expectNoEvent(a, 'gone-ev');
    // b's disconnect travels on its own connection; allow a moment for it.
    let ack;
    for (let i = 0; i < 20; i += 1) {
      ack = await broadcast(sender, { room: 'gone', event: 'gone-ev', data: 1 });
      if (ack.recipients === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(ack, { ok: true, recipients: 0 });
    await notAtA;
  });
});

// Every transport mode (WebSocket only, polling only, polling + upgrade) over
// IPv4 and IPv6 loopback: connect, join a room, broadcast to it, receive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useRoomcastd } from '../support/fixtures.js';
import { broadcast, emitWithAck, makeSocket, waitFor, withTimeout } from '../support/sio.js';

const fx = useRoomcastd(['--enable_client_broadcast']);

const kModes = {
  websocket: { transports: ['websocket'] },
  polling: { transports: ['polling'] },
  upgrade: {},
};
const kHosts = ['127.0.0.1', '::1'];

/**
 * Connects with `mode` to `host`; resolves { socket, firstTransport, upgraded }
 * where upgraded resolves the transport name of the engine's 'upgrade' event.
 */
async function connectMode(mode, host) {
  const socket = fx.track(makeSocket(fx.url(host), kModes[mode]));
  let firstTransport;
  const upgraded = new Promise((resolve) => {
    socket.io.once('open', () => {
      firstTransport = socket.io.engine.transport.name;
      socket.io.engine.once('upgrade', (transport) => resolve(transport.name));
    });
  });
  const connected = waitFor(socket, 'connect');
  socket.connect();
  await connected;
  return { socket, firstTransport, upgraded };
}

/** Joins `room`, broadcasts `data` to it and asserts the socket receives it. */
async function roundTrip(socket, room, data) {
  assert.deepEqual(await emitWithAck(socket, 'join', room), { ok: true, rooms: [room] });
  const received = waitFor(socket, 'news');
  assert.deepEqual(await broadcast(socket, { room, event: 'news', data }), { ok: true, recipients: 1 });
  assert.deepEqual(await received, data);
}

for (const host of kHosts) {
  describe(`over ${host}`, () => {
    it('WebSocket only: connects without polling, joins, receives a broadcast', async () => {
      const { socket, firstTransport } = await connectMode('websocket', host);
      assert.equal(firstTransport, 'websocket');
      assert.equal(socket.io.engine.transport.name, 'websocket');
      await roundTrip(socket, `ws-${host}`, { mode: 'websocket', host });
    });

    it('polling only: stays on polling, joins, receives a broadcast', async () => {
      const { socket, firstTransport } = await connectMode('polling', host);
      assert.equal(firstTransport, 'polling');
      await roundTrip(socket, `poll-${host}`, { mode: 'polling', host, text: 'ünïcödé ✓' });
      assert.equal(socket.io.engine.transport.name, 'polling');
    });

    it('default: starts on polling, upgrades to WebSocket, then joins and receives', async () => {
      const { socket, firstTransport, upgraded } = await connectMode('upgrade', host);
      assert.equal(firstTransport, 'polling');
      assert.equal(await withTimeout(upgraded, 3000, 'the upgrade event'), 'websocket');
      assert.equal(socket.io.engine.transport.name, 'websocket');
      await roundTrip(socket, `up-${host}`, { mode: 'upgrade', host });
    });
  });
}

it('one broadcast reaches clients on every transport and address family', async () => {
  const clients = [
    await connectMode('websocket', '127.0.0.1'),
    await connectMode('polling', '::1'),
    await connectMode('upgrade', '127.0.0.1'),
    await connectMode('polling', '127.0.0.1'),
  ].map((c) => c.socket);
  for (const socket of clients) {
    assert.deepEqual(await emitWithAck(socket, 'join', 'mixed'), { ok: true, rooms: ['mixed'] });
  }
  const received = clients.map((socket) => waitFor(socket, 'fanout'));
  const data = { seq: 1, list: [1, 'two', null] };
  // Sent by the polling client, so it also checks that POSTed events are processed.
  assert.deepEqual(await broadcast(clients[1], { room: 'mixed', event: 'fanout', data }), { ok: true, recipients: 4 });
  for (const got of await Promise.all(received)) assert.deepEqual(got, data);
});

it('a polling client receives several broadcasts in order', async () => {
  const { socket: sender } = await connectMode('websocket', '127.0.0.1');
  const { socket: poller } = await connectMode('polling', '127.0.0.1');
  await emitWithAck(poller, 'join', 'ordered');
  const seen = [];
  const all = new Promise((resolve) => {
    poller.on('seq', (n) => {
      seen.push(n);
      if (seen.length === 20) resolve();
    });
  });
  await Promise.all(Array.from({ length: 20 }, (_, i) => broadcast(sender, { room: 'ordered', event: 'seq', data: i })));
  await withTimeout(all, 3000, '20 events at the polling client');
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i));
});

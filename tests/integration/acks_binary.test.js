// Acks (client -> server via join/rooms, server -> client deliveries) and
// binary attachments carried by `broadcast`, over WebSocket and polling.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useRoomcastd } from '../support/fixtures.js';
import { broadcast, emitWithAck, waitFor, waitForArgs } from '../support/sio.js';

const fx = useRoomcastd(['--enable_client_broadcast']);
const kWs = { transports: ['websocket'] };
const kPolling = { transports: ['polling'] };

const bytes = (n, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

/** Replaces every binary value (Buffer, ArrayBuffer, typed array) by a Buffer, deeply. */
function normalizeBinary(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalizeBinary);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeBinary(v)]));
  }
  return value;
}

/** Broadcasts `data` from `sender` to `room` and resolves what each receiver got. */
async function deliver(sender, receivers, room, data, event = 'payload') {
  const received = receivers.map((r) => waitForArgs(r, event));
  const ack = await broadcast(sender, { room, event, data });
  assert.deepEqual(ack, { ok: true, recipients: receivers.length });
  return Promise.all(received);
}

describe('acks', () => {
  it('answers many concurrent acked events, each with its own reply', async () => {
    const s = await fx.connect(kWs);
    const names = Array.from({ length: 25 }, (_, i) => `ack-${String(i).padStart(2, '0')}`);
    const acks = await Promise.all(names.map((room) => emitWithAck(s, 'join', room)));
    acks.forEach((ack, i) => {
      assert.equal(ack.ok, true);
      assert.ok(ack.rooms.includes(names[i]), `ack ${i} lists the room it joined: ${JSON.stringify(ack)}`);
    });
    assert.deepEqual((await emitWithAck(s, 'rooms')).rooms, names);
  });

  it('answers acked events over polling, interleaved with deliveries', async () => {
    const s = await fx.connect(kPolling);
    await emitWithAck(s, 'join', 'poll-acks');
    const events = [];
    s.on('tick', (n) => events.push(n));
    const acks = await Promise.all(
      Array.from({ length: 10 }, (_, i) => broadcast(s, { room: 'poll-acks', event: 'tick', data: i })),
    );
    for (const ack of acks) assert.deepEqual(ack, { ok: true, recipients: 1 });
    for (let i = 0; i < 40 && events.length < 10; i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(events, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('delivers JSON values of every kind as the single event argument', async () => {
    const a = await fx.connect({ ...kWs, auth: { rooms: ['json'] } });
    const b = await fx.connect({ ...kPolling, auth: { rooms: ['json'] } });
    const values = [
      { nested: { list: [1, 2.5, -3e10, true, false, null], text: 'quote " backslash \\ newline \n tab \t' } },
      ['array', { of: 'objects' }],
      'plain string with emoji 😀 and ümlauts',
      12345,
      0,
      true,
      null,
      { empty: {}, emptyList: [], emptyString: '' },
    ];
    for (const data of values) {
      for (const args of await deliver(a, [a, b], 'json', data)) {
        assert.deepEqual(args, [data]);
      }
    }
  });
});

describe('binary attachments', () => {
  it('delivers a Buffer sent over WebSocket to WebSocket and polling receivers', async () => {
    const sender = await fx.connect(kWs);
    const ws = await fx.connect({ ...kWs, auth: { rooms: ['bin'] } });
    const poll = await fx.connect({ ...kPolling, auth: { rooms: ['bin'] } });
    const payload = bytes(1000);
    for (const [got] of await deliver(sender, [ws, poll], 'bin', payload)) {
      assert.deepEqual(normalizeBinary(got), payload);
    }
  });

  it('delivers a Buffer sent over polling', async () => {
    const sender = await fx.connect(kPolling);
    const ws = await fx.connect({ ...kWs, auth: { rooms: ['bin-p'] } });
    const payload = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x1e, 0x0a]);
    const [[got]] = await deliver(sender, [ws], 'bin-p', payload);
    assert.deepEqual(normalizeBinary(got), payload);
  });

  it('keeps several attachments in place inside nested data', async () => {
    const sender = await fx.connect(kWs);
    const ws = await fx.connect({ ...kWs, auth: { rooms: ['bin-multi'] } });
    const poll = await fx.connect({ ...kPolling, auth: { rooms: ['bin-multi'] } });
    const data = {
      first: bytes(3, 7),
      list: [bytes(10, 2), 'text between', { deep: bytes(65536, 3) }],
      empty: Buffer.alloc(0),
      count: 4,
    };
    for (const [got] of await deliver(sender, [ws, poll], 'bin-multi', data)) {
      assert.deepEqual(normalizeBinary(got), data);
    }
  });

  it('delivers binary and text events in the order they were broadcast', async () => {
    const sender = await fx.connect(kWs);
    const receiver = await fx.connect({ ...kPolling, auth: { rooms: ['bin-order'] } });
    const seen = [];
    receiver.on('mixed', (v) => seen.push(normalizeBinary(v)));
    const sent = [bytes(5, 1), 'two', { three: bytes(4, 3) }, 4, bytes(2, 5)];
    for (const data of sent) await broadcast(sender, { room: 'bin-order', event: 'mixed', data });
    for (let i = 0; i < 40 && seen.length < sent.length; i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, sent);
  });

  it('keeps serving a socket after it received binary data', async () => {
    const s = await fx.connect({ ...kWs, auth: { rooms: ['bin-after'] } });
    await deliver(s, [s], 'bin-after', bytes(16));
    const next = waitFor(s, 'after');
    await broadcast(s, { room: 'bin-after', event: 'after', data: 'text' });
    assert.equal(await next, 'text');
  });
});

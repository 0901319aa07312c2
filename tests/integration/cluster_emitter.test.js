// Node.js services that publish with @socket.io/redis-emitter today reach
// Roomcast's browsers on every node, with no change on their side.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';
import { useCluster, join } from '../support/cluster.js';
import { collect, collected, pollUntil } from '../support/control.js';
import { redisAvailable } from '../support/redis.js';
import { withTimeout } from '../support/sio.js';

const roomsOf = (socket) => new Promise((resolve) => socket.emit('rooms', (ack) => resolve(ack.rooms)));

describe('@socket.io/redis-emitter against a Roomcast cluster', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const cluster = useCluster({ nodes: 2, flags: ['--namespaces=/,/orders'] });
  let client;
  let emitter;
  before(async () => {
    client = createClient({ url: cluster.redis.url });
    // The cluster's own after() stops redis-server, possibly first.
    client.on('error', () => {});
    await client.connect();
    emitter = new Emitter(client);
  });
  after(() => client?.disconnect().catch(() => {}));

  it('reaches one room, several rooms minus except, and the whole namespace, on every node', async () => {
    const a = await cluster.connect(0);
    const b = await cluster.connect(1);
    await join(a, ['room1', 'vip']);
    await join(b, ['room1', 'room2']);
    const seenA = collect(a, 'hello');
    const seenB = collect(b, 'hello');
    emitter.to('room1').emit('hello', 'one room');
    emitter.to(['room1', 'room2']).except('vip').emit('hello', 'two rooms minus vip');
    emitter.emit('hello', 'everyone');
    assert.deepEqual(await collected(seenA, 2, { settleMs: 500 }), ['one room', 'everyone']);
    assert.deepEqual(await collected(seenB, 3, { settleMs: 500 }), ['one room', 'two rooms minus vip', 'everyone']);
    cluster.closeSockets();
  });

  it('keeps several arguments, reaches other namespaces, and sends volatile events', async () => {
    const socket = await cluster.connect(1, {}, '/orders');
    await join(socket, 'eu');
    const got = new Promise((resolve) => socket.on('order', (...args) => resolve(args)));
    emitter.of('/orders').to('eu').emit('order', { id: 1 }, [1, 'two'], null, true, 2.5);
    assert.deepEqual(await withTimeout(got, 3000, 'order'), [{ id: 1 }, [1, 'two'], null, true, 2.5]);
    const fleeting = collect(socket, 'tick');
    emitter.of('/orders').volatile.emit('tick', 1);
    assert.deepEqual(await collected(fleeting, 1), [1]);
    cluster.closeSockets();
  });

  it('turns Buffers into binary arguments', async () => {
    const socket = await cluster.connect(0);
    await join(socket, 'files');
    const got = new Promise((resolve) => socket.on('file', (...args) => resolve(args)));
    emitter.to('files').emit('file', Buffer.from([1, 2, 3]), { name: 'x.bin', bytes: Buffer.from('xy') });
    const [data, meta] = await withTimeout(got, 3000, 'file');
    assert.deepEqual([...new Uint8Array(data)], [1, 2, 3]);
    assert.equal(meta.name, 'x.bin');
    assert.deepEqual([...new Uint8Array(meta.bytes)], [120, 121]);
    cluster.closeSockets();
  });

  it('socketsJoin, socketsLeave and disconnectSockets act on every node', async () => {
    const a = await cluster.connect(0);
    const b = await cluster.connect(1);
    await join(a, 'lobby');
    await join(b, 'lobby');
    emitter.in('lobby').socketsJoin(['game-1']);
    for (const socket of [a, b]) {
      await pollUntil(async () => (await roomsOf(socket)).includes('game-1'), { timeoutMs: 3000, what: 'socketsJoin' });
    }
    emitter.in('game-1').socketsLeave('lobby');
    for (const socket of [a, b]) {
      await pollUntil(async () => !(await roomsOf(socket)).includes('lobby'), { timeoutMs: 3000, what: 'socketsLeave' });
    }
    const gone = [a, b].map((socket) => new Promise((resolve) => socket.on('disconnect', resolve)));
    emitter.in('game-1').disconnectSockets();
    assert.deepEqual(await withTimeout(Promise.all(gone), 3000, 'disconnectSockets'),
      ['io server disconnect', 'io server disconnect']);
    cluster.closeSockets();
  });

  it('ignores a malformed message on its channels and keeps delivering', async () => {
    const socket = await cluster.connect(1);
    await join(socket, 'robust');
    const seen = collect(socket, 'after');
    await client.publish('socket.io#/#robust#', Buffer.from([0x93, 0xa7, 0x65]));  // truncated msgpack
    await client.publish('socket.io#/#robust#', 'not msgpack at all');
    await client.publish('socket.io-request#/#', '{"type":');
    emitter.to('robust').emit('after', 'still here');
    assert.deepEqual(await collected(seen, 1), ['still here']);
    cluster.closeSockets();
  });
});

// Each transport path against a real roomcastd, observed by a socket.io-client
// in the room: gRPC direct; gRPC port closed → the HTTP shim (counted, logged
// once); a gRPC endpoint that never connects costs the connect timeout once;
// server gone → a clear error at the deadline; server back on the same ports
// → gRPC again. Plus: both transports answer every method alike, History's
// JSON values and times included.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RoomcastError } from '@roomcast/client';
import {
  collect,
  connectSocket,
  freePort,
  kStepMs,
  makeClient,
  rejection,
  sleep,
  startServer,
  stopServer,
  targetsOf,
  waitUntil,
} from './helpers.mjs';

describe('gRPC direct', () => {
  it('emits over gRPC to the socket.io-client in the room', async (t) => {
    const server = await startServer(t);
    const inRoom = await connectSocket(t, server.port, ['orders']);
    const outside = await connectSocket(t, server.port, ['elsewhere']);
    const seen = collect(inRoom, 'order.created');
    const notSeen = collect(outside, 'order.created');
    const client = makeClient(t, targetsOf(server));

    const res = await client.emit({ room: 'orders', event: 'order.created', data: { id: 42, tags: ['a', null] } });
    assert.equal(res.recipients, '1');
    assert.match(res.offset, /^\d+$/);
    assert.notEqual(res.epoch, '');
    assert.equal(res.duplicate, false);
    await waitUntil(() => seen.length === 1, kStepMs, 'order.created in the room');
    assert.deepEqual(seen, [{ id: 42, tags: ['a', null] }]);

    const stats = client.stats;
    assert.equal(stats.lastTransport, 'grpc');
    assert.equal(stats.fallbacks, 0);
    assert.equal(stats.httpCalls, 0);
    assert.equal(stats.grpcCalls, 1);
    assert.equal(stats.grpcAvailable, true);
    assert.match(stats.grpcAddress, new RegExp(`^ipv(6:\\[::1\\]|4:127\\.0\\.0\\.1):${server.grpcPort}$`));
    // The server counted a gRPC emit, not an HTTP one.
    const status = await client.status();
    assert.deepEqual(status.counters.emitsByTransport, { grpc: '1', http: '0' });
    assert.deepEqual(client.logs, []);
    assert.deepEqual(notSeen, []);
  });

  it('a server error is final: no retry, no fallback', async (t) => {
    const server = await startServer(t);
    const client = makeClient(t, targetsOf(server));
    const err = await rejection(client.emit({ room: 'orders', data: 1 }));
    assert.ok(err instanceof RoomcastError, String(err));
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.equal(err.grpcCode, 3);
    assert.equal(err.transport, 'grpc');
    assert.equal(err.httpStatus, undefined);
    assert.equal(err.method, 'Emit');
    assert.match(err.message, /event name is required/);
    assert.equal(err.attempts, 1);
    const stats = client.stats;
    assert.equal(stats.retries, 0);
    assert.equal(stats.fallbacks, 0);
    assert.equal(stats.httpCalls, 0);
    assert.equal(stats.failures, 1);
  });
});

describe('both transports answer alike', () => {
  // Values that change between two calls, replaced by their JSON type.
  const shape = (value) =>
    Array.isArray(value)
      ? value.map(shape)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
        : typeof value;

  it('every method, its answer and its errors', async (t) => {
    const server = await startServer(t);
    const socket = await connectSocket(t, server.port, ['parity']);
    const seen = collect(socket, 'parity.event');
    const grpc = makeClient(t, { ...targetsOf(server), transport: 'grpc' });
    const http = makeClient(t, { ...targetsOf(server), transport: 'http' });
    const both = async (fn) => [await fn(grpc), await fn(http)];

    const emits = await both((c) => c.emit({ room: 'parity', event: 'parity.event', data: null, exceptRooms: ['muted'] }));
    assert.deepEqual(shape(emits[0]), shape(emits[1]));
    assert.deepEqual({ ...emits[0], offset: '' }, { ...emits[1], offset: '' });

    const batches = await both((c) =>
      c.emitBatch({ emits: [{ room: 'parity', event: 'parity.event', data: 'b' }, { room: 'parity', event: '' }] }),
    );
    assert.deepEqual(shape(batches[0]), shape(batches[1]));
    assert.deepEqual(batches[0].results[1], { error: { code: 'INVALID_ARGUMENT', message: 'event name is required' } });
    assert.deepEqual(batches[1].results[1], batches[0].results[1]);
    await waitUntil(() => seen.length === 4, kStepMs, 'four parity events');
    assert.deepEqual(seen, [null, null, 'b', 'b']);

    const histories = await both((c) => c.history({ room: 'parity' }));
    assert.deepEqual(histories[0], histories[1]);
    const logged = [emits[0], emits[1], batches[0].results[0].emitted, batches[1].results[0].emitted];
    assert.deepEqual(
      histories[0].events.map(({ time, ...event }) => event),
      logged.map(({ offset, epoch }, i) => ({
        offset,
        epoch,
        event: 'parity.event',
        data: i < 2 ? null : 'b',
        args: [i < 2 ? null : 'b'],
        rooms: ['parity'],
        exceptRooms: i < 2 ? ['muted'] : [],
      })),
    );
    for (const { time } of histories[0].events) assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const newest = await both((c) => c.history({ room: 'parity', afterOffset: logged[0].offset, limit: 2, reverse: true }));
    assert.deepEqual(newest[0], newest[1]);
    assert.deepEqual(newest[0].events, histories[0].events.slice(2).reverse());

    const statuses = await both((c) => c.status({ topRooms: 1 }));
    assert.deepEqual(shape(statuses[0]), shape(statuses[1]));
    assert.deepEqual(statuses[0].topRooms, statuses[1].topRooms);
    assert.deepEqual(Object.keys(statuses[0]), Object.keys(statuses[1]));

    const healths = await both((c) => c.health());
    assert.deepEqual(shape(healths[0]), shape(healths[1]));
    assert.equal(healths[0].status, 'SERVING');

    const joins = await both((c) => c.joinRooms({ sockets: { room: 'parity' }, rooms: ['vip'] }));
    assert.deepEqual(joins, [{ sockets: '1' }, { sockets: '1' }]);
    const lists = await both((c) => c.listRoomSockets({ room: 'vip' }));
    assert.deepEqual(lists[0], lists[1]);
    assert.deepEqual(lists[0], {
      sockets: [{ id: socket.id, rooms: ['parity', 'vip'], nodeId: statuses[0].nodeId }],
      nextPageToken: '',
    });
    const leaves = await both((c) => c.leaveRooms({ sockets: { socketId: socket.id }, rooms: ['vip'] }));
    assert.deepEqual(leaves, [{ sockets: '1' }, { sockets: '1' }]);
    const tests = await both((c) => c.sendTestEvent({ testRoom: 'nobody', testData: { x: [1] } }));
    assert.deepEqual(tests[0], tests[1]);
    assert.deepEqual(tests[0], { success: true, recipients: '0', room: 'nobody', event: 'test-event' });

    // Errors: the same code and message; the HTTP one has its status too.
    const errors = await both((c) => rejection(c.listRoomSockets({ room: '' })));
    assert.equal(errors[0].code, 'INVALID_ARGUMENT');
    assert.equal(errors[1].code, 'INVALID_ARGUMENT');
    assert.equal(errors[0].message, errors[1].message);
    assert.equal(errors[0].httpStatus, undefined);
    assert.equal(errors[1].httpStatus, 400);
    const selectorErrors = await both((c) => rejection(c.joinRooms({ sockets: {}, rooms: ['x'] })));
    assert.equal(selectorErrors[0].message, selectorErrors[1].message);
    const limitErrors = await both((c) => rejection(c.history({ limit: 5000 })));
    assert.equal(limitErrors[0].code, 'INVALID_ARGUMENT');
    assert.equal(limitErrors[1].code, 'INVALID_ARGUMENT');
    assert.equal(limitErrors[0].message, limitErrors[1].message);
    assert.equal(limitErrors[1].httpStatus, 400);

    const disconnects = await both((c) => c.disconnectSockets({ sockets: { room: 'parity' } }));
    assert.deepEqual(disconnects, [{ sockets: '1' }, { sockets: '0' }]);
    assert.equal(grpc.stats.httpCalls, 0);
    assert.equal(http.stats.grpcCalls, 0);
  });
});

describe('fallback to the HTTP shim', () => {
  it('gRPC port closed: the shim carries the call, counted and logged once', async (t) => {
    const server = await startServer(t);
    const socket = await connectSocket(t, server.port, ['fallback']);
    const seen = collect(socket, 'fb');
    const closed = await freePort();
    const client = makeClient(t, {
      env: { ROOMCAST_GRPC_TARGET: `localhost:${closed}`, INTERNAL_API_URL: `http://localhost:${server.port}` },
    });

    for (let i = 0; i < 3; i += 1) {
      const started = Date.now();
      const res = await client.emit({ room: 'fallback', event: 'fb', data: i });
      assert.equal(res.recipients, '1');
      assert.equal(client.stats.lastTransport, 'http');
      // Known down: no connect attempt (nor its timeout) on the call path.
      if (i > 0) assert.ok(Date.now() - started < 400, `call ${i} took ${Date.now() - started} ms`);
    }
    await waitUntil(() => seen.length === 3, kStepMs, 'three events via the shim');
    assert.deepEqual(seen, [0, 1, 2]);

    const stats = client.stats;
    assert.equal(stats.fallbacks, 3);
    assert.equal(stats.httpCalls, 3);
    assert.equal(stats.grpcCalls, 0);
    assert.equal(stats.grpcAvailable, false);
    assert.equal(stats.retries, 0);
    assert.equal(client.logs.length, 1, client.logs.join('\n'));
    assert.match(client.logs[0], new RegExp(`gRPC localhost:${closed} unreachable .*ECONNREFUSED.*HTTP shim at http://localhost:${server.port}`));
    const status = await client.status();
    assert.equal(status.counters.emitsByTransport.http, '3');
    assert.equal(status.counters.emitsByTransport.grpc, '0');
  });

  it('gRPC endpoint never connects: the connect timeout is paid once, not per call', async (t) => {
    const server = await startServer(t);
    // Accepts TCP, never speaks HTTP/2: the gRPC channel never gets READY.
    const sockets = new Set();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const connectTimeoutMs = 1000;
    const client = makeClient(t, {
      grpcTarget: `127.0.0.1:${silent.address().port}`,
      httpUrl: `http://localhost:${server.port}`,
      connectTimeoutMs,
      recheckIntervalMs: 100,
    });
    const timed = async () => {
      const started = Date.now();
      await client.emit({ room: 'r', event: 'e' });
      assert.equal(client.stats.lastTransport, 'http');
      return Date.now() - started;
    };
    const first = await timed();
    assert.ok(first >= connectTimeoutMs - 50, `first call ${first} ms`);
    for (let i = 0; i < 4; i += 1) {
      await sleep(150); // background re-checks run meanwhile
      const later = await timed();
      assert.ok(later < connectTimeoutMs / 2, `call ${i + 2} took ${later} ms`);
    }
    assert.equal(client.stats.fallbacks, 5);
    assert.equal(client.logs.length, 1, client.logs.join('\n'));
    assert.match(client.logs[0], /unreachable \(no connection within the connect timeout\)/);
  });

  it('server gone: a clear error at the deadline, no hang', async (t) => {
    const server = await startServer(t);
    // Attempts bounded by the deadline only: retries go on until it.
    const client = makeClient(t, { ...targetsOf(server), maxAttempts: 1000 });
    await client.emit({ room: 'r', event: 'before' });
    assert.equal(client.stats.lastTransport, 'grpc');
    await stopServer(server);

    for (const deadlineMs of [1500, 300]) {
      const started = Date.now();
      const err = await rejection(client.emit({ room: 'r', event: 'after' }, { deadlineMs }));
      const elapsed = Date.now() - started;
      assert.ok(err instanceof RoomcastError, String(err));
      assert.equal(err.code, 'UNAVAILABLE');
      // No retry is started that would end past the deadline (maxBackoffMs 200).
      assert.ok(elapsed >= deadlineMs - 300 && elapsed <= deadlineMs + 500, `failed after ${elapsed} ms, deadline ${deadlineMs} ms`);
      assert.match(err.message, new RegExp(`HTTP shim http://localhost:${server.port}: .*ECONNREFUSED`));
      // The first call after the crash may still have found the old connection.
      assert.match(err.message, new RegExp(`gRPC localhost:${server.grpcPort}: .*(ECONNREFUSED|Connection dropped)`));
      assert.match(err.message, new RegExp(`Emit: \\d+ attempts in \\d+ ms, deadline ${deadlineMs} ms`));
      assert.ok(err.attempts > 1, `attempts ${err.attempts}`);
      assert.equal(err.transport, 'http');
    }
    assert.equal(client.logs.length, 1, client.logs.join('\n'));
    assert.equal(client.stats.failures, 2);
  });

  it('server back on the same ports: gRPC is used again', async (t) => {
    const [port, grpcPort] = [await freePort(), await freePort()];
    const flags = [`--port=${port}`, `--grpc_port=${grpcPort}`];
    let server = await startServer(t, flags);
    const client = makeClient(t, targetsOf(server));
    await client.emit({ room: 'r', event: 'first' });
    assert.equal(client.stats.lastTransport, 'grpc');

    await stopServer(server);
    const err = await rejection(client.emit({ room: 'r', event: 'lost' }, { deadlineMs: 500 }));
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(client.stats.grpcAvailable, false);

    // The same ports again (bounded retries in case the kernel holds them a moment).
    for (let tries = 0; ; tries += 1) {
      try {
        server = await startServer(t, flags);
        break;
      } catch (e) {
        if (tries >= 10) throw e;
        await sleep(200);
      }
    }
    const socket = await connectSocket(t, port, ['r']);
    const seen = collect(socket, 'again');
    let sent = 0;
    await waitUntil(
      async () => {
        await client.emit({ room: 'r', event: 'again', data: sent++ });
        return client.stats.lastTransport === 'grpc';
      },
      5000,
      'a call over gRPC after the restart',
    );
    assert.equal(client.stats.grpcAvailable, true);
    await waitUntil(() => seen.length === sent, kStepMs, `${sent} events`);
    assert.deepEqual(seen, [...Array(sent).keys()]);
    // Later calls stay on gRPC.
    await client.emit({ room: 'r', event: 'again', data: sent });
    assert.equal(client.stats.lastTransport, 'grpc');
    assert.equal(client.logs.length, 2, client.logs.join('\n'));
    assert.match(client.logs[0], /unreachable/);
    assert.match(client.logs[1], new RegExp(`gRPC localhost:${grpcPort} reachable again`));
  });
});

// Browser events to services against a real roomcastd: receiveClientEvents
// gets a socket.io-client's events (args, claims-less anonymous socket, ack
// round trip), filters by event name, shares a group's events out (each
// exactly once), follows presence (lifecycle); ack twice is
// FAILED_PRECONDITION on both transports; emitWithAck lists the socket that
// never answers; the stream reconnects after the server drains and restarts
// on the same ports, and after being cut for reading too slowly
// (RESOURCE_EXHAUSTED, reported to onError); non-retryable errors end the
// iteration; break, return(), a signal and close() end it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoomcastError } from '@roomcast/client';
import {
  connectSocket,
  freePort,
  kStepMs,
  makeClient,
  rejection,
  sleep,
  startServer,
  targetsOf,
  waitUntil,
  withTimeout,
} from './helpers.mjs';

/**
 * A receiveClientEvents loop in the background: `events` fills as they come,
 * `errors` gets what onError reported, `ready()` resolves at the first onReady.
 * `stop()` (also run by t.after) aborts it and waits for the loop to end.
 */
function consume(t, client, request = {}, options = {}) {
  const controller = new AbortController();
  const state = { events: [], errors: [], readies: 0, ended: false, failure: null };
  let resolveReady;
  const ready = new Promise((resolve) => (resolveReady = resolve));
  state.ready = () => withTimeout(ready, kStepMs, 'the stream to be in place');
  const iterator = client.receiveClientEvents(request, {
    signal: controller.signal,
    initialBackoffMs: 20,
    maxBackoffMs: 200,
    ...options,
    onReady: () => {
      state.readies += 1;
      resolveReady();
    },
    onError: (error, retry) => state.errors.push({ code: error.code, message: error.message, ...retry }),
  });
  const loop = (async () => {
    try {
      for await (const event of iterator) state.events.push(event);
    } catch (err) {
      state.failure = err;
    } finally {
      state.ended = true;
    }
  })();
  state.stop = async () => {
    controller.abort();
    await withTimeout(loop, kStepMs, 'the receiveClientEvents loop to end');
  };
  t.after(state.stop);
  return state;
}

/** The socket's ack for `event`, with a bounded wait. */
function ask(socket, event, ...args) {
  return socket.timeout(kStepMs).emitWithAck(event, ...args);
}

describe('receiveClientEvents', () => {
  it("gets a browser's event with its arguments, and ack answers the browser", async (t) => {
    const server = await startServer(t);
    const client = makeClient(t, targetsOf(server));
    const stream = consume(t, client);
    await stream.ready();
    const socket = await connectSocket(t, server.port, ['orders', 'vip']);

    const answer = ask(socket, 'chat:send', { text: 'hi' }, 2);
    const event = await waitUntil(() => stream.events[0], kStepMs, 'chat:send on the stream');
    assert.equal(event.event, 'chat:send');
    assert.equal(event.kind, 'event');
    assert.deepEqual(event.args, [{ text: 'hi' }, 2]);
    assert.deepEqual(event.attachments, []);
    assert.equal(event.namespace, '/');
    assert.equal(event.socketId, socket.id);
    assert.equal(event.userId, '');
    assert.equal(event.claims, null);
    assert.deepEqual([...event.rooms].sort(), ['orders', 'vip']);
    assert.equal(event.wantsAck, true);
    assert.ok(event.nodeId);
    assert.match(event.id, new RegExp(`^${event.nodeId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d+$`));
    assert.ok(event.time instanceof Date);
    assert.equal(event.time.getTime(), event.timeMs);
    assert.ok(Math.abs(Date.now() - event.timeMs) < 60000, `time ${event.time.toISOString()}`);
    assert.equal(typeof event.ack, 'function');
    assert.equal(JSON.parse(JSON.stringify(event)).ack, undefined, 'ack is not data');

    await event.ack({ stored: true });
    assert.deepEqual(await answer, { stored: true });

    // Without an ack callback: nothing to answer.
    socket.emit('typing', true);
    const typing = await waitUntil(() => stream.events[1], kStepMs, 'typing on the stream');
    assert.equal(typing.event, 'typing');
    assert.deepEqual(typing.args, [true]);
    assert.equal(typing.wantsAck, false);
    assert.equal(typing.ack, undefined);

    const status = await client.status();
    assert.equal(status.clientEvents.streams, '1');
    assert.equal(status.counters.clientEvents, '2');
    assert.equal(status.counters.clientAcks, '1');
    assert.equal(status.draining, false);
    assert.deepEqual(stream.errors, []);
    assert.deepEqual(client.logs, []);
  });

  it('gets only the events it asked for; an event nobody takes is answered unavailable', async (t) => {
    const server = await startServer(t);
    const client = makeClient(t, targetsOf(server));
    const stream = consume(t, client, { events: ['wanted'] });
    await stream.ready();
    const socket = await connectSocket(t, server.port, []);

    const refused = await ask(socket, 'unwanted', 1);
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'unavailable');
    socket.emit('wanted', 2);
    await waitUntil(() => stream.events.length === 1, kStepMs, 'wanted on the stream');
    await sleep(100);
    assert.deepEqual(
      stream.events.map((e) => [e.event, e.args]),
      [['wanted', [2]]],
    );
    assert.equal((await client.status()).counters.clientEventsUnavailable, '1');
  });

  it("two streams of a group split its events (each exactly once); another group gets them all", async (t) => {
    const server = await startServer(t, ['--client_events_per_s=0']);
    const client = makeClient(t, targetsOf(server));
    const workers = [consume(t, client, { group: 'workers', events: ['job'] }), consume(t, client, { group: 'workers', events: ['job'] })];
    const audit = consume(t, client, { group: 'audit', events: ['job'] });
    await Promise.all([...workers, audit].map((s) => s.ready()));
    const socket = await connectSocket(t, server.port, []);

    const kCount = 40;
    for (let i = 0; i < kCount; i += 1) socket.emit('job', i);
    await waitUntil(() => workers[0].events.length + workers[1].events.length >= kCount, kStepMs, 'the group to get every job');
    await waitUntil(() => audit.events.length >= kCount, kStepMs, 'the other group to get every job');
    await sleep(100); // a duplicate would have arrived by now

    const shared = [...workers[0].events, ...workers[1].events].map((e) => e.args[0]).sort((a, b) => a - b);
    assert.deepEqual(shared, [...Array(kCount).keys()], 'each job exactly once in the group');
    assert.ok(workers[0].events.length > 0 && workers[1].events.length > 0, 'both workers got some');
    assert.deepEqual(
      audit.events.map((e) => e.args[0]),
      [...Array(kCount).keys()],
      'the other group got them all, in order',
    );
  });

  it('follows presence with lifecycle: connect, join, leave, disconnect', async (t) => {
    const server = await startServer(t);
    const client = makeClient(t, targetsOf(server));
    const stream = consume(t, client, { lifecycle: true, events: ['none'] });
    await stream.ready();
    const socket = await connectSocket(t, server.port, ['start']);
    const id = socket.id;
    assert.deepEqual((await ask(socket, 'join', 'lobby')).ok, true);
    assert.deepEqual((await ask(socket, 'leave', ['lobby'])).ok, true);
    socket.disconnect();

    const mine = () => stream.events.filter((e) => e.socketId === id);
    await waitUntil(() => mine().some((e) => e.kind === 'disconnect'), kStepMs, 'the disconnect');
    const kinds = mine().map((e) => [e.kind, e.event, e.args]);
    assert.deepEqual(kinds, [
      ['connect', 'connect', []],
      ['join', 'join', [['lobby']]],
      ['leave', 'leave', [['lobby']]],
      ['disconnect', 'disconnect', []],
    ]);
    const disconnect = mine().at(-1);
    assert.ok(disconnect.reason, 'a disconnect has a reason');
    assert.equal(disconnect.wantsAck, false);
  });

  it('ack twice: the second is FAILED_PRECONDITION, on gRPC and on the HTTP shim; an unknown id NOT_FOUND', async (t) => {
    const server = await startServer(t);
    const client = makeClient(t, targetsOf(server));
    const http = makeClient(t, { ...targetsOf(server), transport: 'http' });
    const stream = consume(t, client);
    await stream.ready();
    const socket = await connectSocket(t, server.port, []);

    for (const [i, first] of [client, http].entries()) {
      const answer = ask(socket, 'q', i);
      const event = await waitUntil(() => stream.events[i], kStepMs, `event ${i}`);
      assert.deepEqual(await first.ack(event.id, 'first', { n: i }), {});
      assert.deepEqual(await answer, 'first', 'the first ack reached the browser');
      for (const again of [client, http]) {
        const err = await rejection(again.ack(event.id, 'second'));
        assert.ok(err instanceof RoomcastError, String(err));
        assert.equal(err.code, 'FAILED_PRECONDITION');
        assert.equal(err.method, 'AckClientEvent');
        assert.equal(err.transport, again === http ? 'http' : 'grpc');
        assert.equal(err.httpStatus, again === http ? 400 : undefined);
        assert.equal(err.attempts, 1);
      }
      // The event's own ack() goes the same way.
      assert.equal((await rejection(event.ack('third'))).code, 'FAILED_PRECONDITION');
    }
    for (const c of [client, http]) {
      const err = await rejection(c.ackClientEvent({ id: 'nobody.1', argsJson: '[1]' }));
      assert.equal(err.code, 'NOT_FOUND');
    }
    // Checked before sending.
    assert.equal((await rejection(client.ackClientEvent({ id: 'x', args: 1 }))).code, 'INVALID_ARGUMENT');
    assert.equal((await rejection(client.ackClientEvent({ id: 'x', args: [], argsJson: '[]' }))).code, 'INVALID_ARGUMENT');
  });

  it('reconnects after the server drains and comes back on the same ports', async (t) => {
    const [port, grpcPort] = [await freePort(), await freePort()];
    const flags = [`--port=${port}`, `--grpc_port=${grpcPort}`, '--drain_grace_ms=100', '--drain_deadline_ms=2000'];
    let server = await startServer(t, flags);
    const client = makeClient(t, targetsOf(server));
    const stream = consume(t, client, { events: ['ping'] });
    await stream.ready();
    let socket = await connectSocket(t, server.port, []);
    socket.emit('ping', 'before');
    await waitUntil(() => stream.events.length === 1, kStepMs, 'ping before the restart');

    const exit = await withTimeout(server.stop('SIGTERM'), kStepMs, 'roomcastd to drain');
    assert.equal(exit.code, 0);
    assert.ok(stream.errors.length > 0, 'the end was reported');
    assert.equal(stream.errors[0].code, 'UNAVAILABLE');
    assert.match(stream.errors[0].message, /draining/);
    assert.equal(stream.errors[0].attempt, 1);
    // Reopened while the node drains: refused UNAVAILABLE, or CANCELLED when
    // the call lands as the gRPC server shuts down; both are retried.
    assert.ok(stream.errors.every((e) => ['UNAVAILABLE', 'CANCELLED'].includes(e.code) && e.delayMs <= 200),
      JSON.stringify(stream.errors));
    assert.match(client.logs.join('\n'), /ReceiveClientEvents stream ended \(UNAVAILABLE/);

    // The same ports again (bounded retries in case the kernel holds them a moment).
    for (let tries = 0; ; tries += 1) {
      try {
        server = await startServer(t, flags);
        break;
      } catch (err) {
        if (tries >= 20) throw err;
        await sleep(100);
      }
    }
    await waitUntil(() => stream.readies === 2, kStepMs, 'the stream back in place');
    socket = await connectSocket(t, server.port, []);
    socket.emit('ping', 'after');
    await waitUntil(() => stream.events.length === 2, kStepMs, 'ping after the restart');
    assert.deepEqual(
      stream.events.map((e) => e.args[0]),
      ['before', 'after'],
    );
    assert.equal(stream.failure, null);
    assert.equal(stream.ended, false);
  });

  it('a consumer that does not read is cut (RESOURCE_EXHAUSTED, reported) and reconnects', async (t) => {
    const server = await startServer(t, ['--client_events_per_s=0', '--client_event_stream_buffer_bytes=16384']);
    const client = makeClient(t, targetsOf(server));
    const errors = [];
    let readies = 0;
    const iterator = client.receiveClientEvents(
      {},
      { initialBackoffMs: 20, maxBackoffMs: 200, onReady: () => (readies += 1), onError: (error, retry) => errors.push({ error, retry }) },
    );
    t.after(() => iterator.return());
    const first = iterator.next(); // opens the stream; nothing reads after that
    await waitUntil(() => readies === 1, kStepMs, 'the stream to be in place');
    const socket = await connectSocket(t, server.port, []);
    // About 300 KB: more than gRPC's flow-control windows and the 16 KiB the server may hold.
    const pad = 'x'.repeat(1000);
    for (let i = 0; i < 300; i += 1) socket.emit('bulk', i, pad);
    await waitUntil(async () => Number((await client.status()).counters.clientEvents) >= 300, kStepMs, 'the server to take every event');
    assert.deepEqual(errors, [], 'nothing is reported before the consumer reads again');

    // Reading again: what arrived, then the cut, then a new stream.
    const seen = [(await withTimeout(first, kStepMs, 'the first event')).value];
    const reading = (async () => {
      for await (const event of iterator) {
        seen.push(event);
        if (event.event === 'after') break;
      }
    })();
    await waitUntil(() => errors.length > 0 && readies === 2, kStepMs, 'the cut to be reported and the stream back');
    const [{ error, retry }] = errors;
    assert.ok(error instanceof RoomcastError);
    assert.equal(error.code, 'RESOURCE_EXHAUSTED');
    assert.match(error.message, /too slow/);
    assert.equal(error.method, 'ReceiveClientEvents');
    assert.equal(retry.attempt, 1);
    assert.ok(retry.delayMs > 0 && retry.delayMs <= 200, String(retry.delayMs));
    assert.match(client.logs.join('\n'), /RESOURCE_EXHAUSTED: client event stream too slow/);
    const bulk = seen.map((e) => e.args[0]);
    assert.ok(bulk.length < 300, 'the events past the limit were dropped');
    assert.deepEqual(bulk, [...bulk.keys()], 'what arrived came in order');

    socket.emit('after', 'back');
    await withTimeout(reading, kStepMs, 'an event on the new stream');
    assert.deepEqual(seen.at(-1).args, ['back']);
    assert.equal(errors.length, 1);
  });
});

describe('receiveClientEvents ends', () => {
  it('by throwing on a non-retryable error: UNAUTHENTICATED, INVALID_ARGUMENT, FAILED_PRECONDITION', async (t) => {
    const server = await startServer(t, ['--internal_api_key=k3y']);
    const client = makeClient(t, { ...targetsOf(server), apiKey: 'wrong' });
    const stream = consume(t, client);
    await waitUntil(() => stream.ended, kStepMs, 'the loop to end');
    assert.ok(stream.failure instanceof RoomcastError, String(stream.failure));
    assert.equal(stream.failure.code, 'UNAUTHENTICATED');
    assert.equal(stream.failure.method, 'ReceiveClientEvents');
    assert.equal(stream.readies, 0);
    assert.deepEqual(stream.errors, []);

    // With the right key it is in place.
    const keyed = consume(t, makeClient(t, { ...targetsOf(server), apiKey: 'k3y' }));
    await keyed.ready();

    // Checked at the call.
    assert.throws(() => client.receiveClientEvents({ evnts: ['x'] }), { code: 'INVALID_ARGUMENT', message: /unknown field 'evnts'/ });
    assert.throws(() => client.receiveClientEvents({ events: 'x' }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => client.receiveClientEvents({}, { maxBackoffMs: -1 }), TypeError);
    const httpOnly = makeClient(t, { ...targetsOf(server), transport: 'http' });
    assert.throws(() => httpOnly.receiveClientEvents(), { code: 'FAILED_PRECONDITION', message: /needs gRPC/ });
  });

  it('on break, on return() while a next() waits, on its signal, on client.close()', async (t) => {
    const server = await startServer(t);
    const socket = await connectSocket(t, server.port, []);
    const status = makeClient(t, targetsOf(server));
    const streams = async () => (await status.status()).clientEvents.streams;

    // break
    const client = makeClient(t, targetsOf(server));
    let ready = false;
    const iterator = client.receiveClientEvents({}, { onReady: () => (ready = true) });
    const broke = (async () => {
      for await (const event of iterator) if (event.event === 'stop') break;
    })();
    await waitUntil(() => ready, kStepMs, 'stream 1 in place');
    socket.emit('stop');
    await withTimeout(broke, kStepMs, 'the loop to break');
    await waitUntil(async () => (await streams()) === '0', kStepMs, 'the server to forget stream 1');

    // return() while a next() is waiting for an event that never comes
    ready = false;
    const waiting = client.receiveClientEvents({}, { onReady: () => (ready = true) });
    const pending = waiting.next();
    await waitUntil(() => ready, kStepMs, 'stream 2 in place');
    assert.deepEqual(await withTimeout(waiting.return(), kStepMs, 'return()'), { done: true, value: undefined });
    assert.deepEqual(await withTimeout(pending, kStepMs, 'the waiting next()'), { done: true, value: undefined });

    // an AbortSignal, and close(): the loops end quietly
    const controller = new AbortController();
    const readies = [false, false];
    const loops = [
      client.receiveClientEvents({}, { signal: controller.signal, onReady: () => (readies[0] = true) }),
      client.receiveClientEvents({}, { onReady: () => (readies[1] = true) }),
    ].map(async (it) => {
      for await (const _ of it);
      return 'ended';
    });
    await waitUntil(() => readies.every(Boolean), kStepMs, 'streams 3 and 4 in place');
    controller.abort();
    assert.equal(await withTimeout(loops[0], kStepMs, 'the aborted loop'), 'ended');
    await client.close();
    assert.equal(await withTimeout(loops[1], kStepMs, 'the loop of the closed client'), 'ended');
    await waitUntil(async () => (await streams()) === '0', kStepMs, 'the server to forget every stream');
    assert.throws(() => client.receiveClientEvents(), { code: 'FAILED_PRECONDITION' });
  });
});

describe('emitWithAck', () => {
  it('waits for each socket: replies from the one that answers, timedOut lists the one that never does', async (t) => {
    const server = await startServer(t);
    const answers = await connectSocket(t, server.port, ['ask']);
    const silent = await connectSocket(t, server.port, ['ask']);
    const outside = await connectSocket(t, server.port, ['elsewhere']);
    answers.on('question', (data, callback) => callback('yes', data));
    silent.on('question', () => {}); // never calls back
    outside.on('question', (data, callback) => callback('not asked'));

    for (const transport of ['grpc', 'http']) {
      const client = makeClient(t, { ...targetsOf(server), transport });
      const started = Date.now();
      const res = await client.emitWithAck({ room: 'ask', event: 'question', data: { q: transport }, timeoutMs: 300 });
      const took = Date.now() - started;
      assert.deepEqual(res, {
        replies: [{ socketId: answers.id, args: ['yes', { q: transport }], attachments: [] }],
        timedOut: [silent.id],
      });
      assert.ok(took >= 250 && took < 3000, `${transport}: took ${took} ms`);
      assert.equal(client.stats.lastTransport, transport);

      // One socket, which answers at once.
      const one = await client.emitWithAck({ socketId: answers.id, event: 'question', dataJson: '"raw"', timeoutMs: 2000 });
      assert.deepEqual(one, { replies: [{ socketId: answers.id, args: ['yes', 'raw'], attachments: [] }], timedOut: [] });
    }

    const client = makeClient(t, targetsOf(server));
    // The deadline covers the server's wait: a timeoutMs longer than the client's deadlineMs is fine.
    const slow = makeClient(t, { ...targetsOf(server), deadlineMs: 200 });
    const res = await slow.emitWithAck({ socketId: silent.id, event: 'question', timeoutMs: 500 });
    assert.deepEqual(res, { replies: [], timedOut: [silent.id] });
    // An explicit deadline wins.
    const err = await rejection(client.emitWithAck({ socketId: silent.id, event: 'question', timeoutMs: 2000 }, { deadlineMs: 200 }));
    assert.equal(err.code, 'DEADLINE_EXCEEDED');
    assert.equal((await rejection(client.emitWithAck({ room: 'ask', event: 'q', data: 1, dataJson: '1' }))).code, 'INVALID_ARGUMENT');
  });
});

// The client's rules against scripted stand-ins (no roomcastd): configuration,
// local request checks, the HTTP routes taken from the protos, which failures
// are retried (always with the same idempotency key), deadlines and
// cancellation. Loopback only; every wait bounded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { RoomcastClient, RoomcastError, isLocalhostName } from '@roomcast/client';
import { freePort, makeClient, rejection } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('configuration', () => {
  it('defaults, the environment, explicit options', () => {
    const defaults = new RoomcastClient({ env: {}, logger: null });
    assert.equal(defaults.grpcTarget, 'localhost:50051');
    assert.equal(defaults.httpUrl, 'http://localhost:3001');
    defaults.close();
    const env = { ROOMCAST_GRPC_TARGET: 'roomcast:6000', INTERNAL_API_URL: 'http://roomcast:3001', INTERNAL_API_KEY: 'k' };
    const fromEnv = new RoomcastClient({ env, logger: null });
    assert.equal(fromEnv.grpcTarget, 'roomcast:6000');
    assert.equal(fromEnv.httpUrl, 'http://roomcast:3001');
    fromEnv.close();
    const explicit = new RoomcastClient({ env, grpcTarget: 'a:1', httpUrl: 'http://b:2', logger: null });
    assert.equal(explicit.grpcTarget, 'a:1');
    assert.equal(explicit.httpUrl, 'http://b:2');
    explicit.close();
    // Empty variables count as unset.
    const empty = new RoomcastClient({ env: { ROOMCAST_GRPC_TARGET: '', INTERNAL_API_URL: ' ' }, logger: null });
    assert.equal(empty.grpcTarget, 'localhost:50051');
    assert.equal(empty.httpUrl, 'http://localhost:3001');
    empty.close();
  });

  it('rejects bad options at construction', () => {
    assert.throws(() => new RoomcastClient({ env: {}, httpUrl: 'not a url' }), /not a URL/);
    assert.throws(() => new RoomcastClient({ env: {}, httpUrl: 'ftp://x' }), /http: or https:/);
    assert.throws(() => new RoomcastClient({ env: {}, deadlineMs: 0 }), /deadlineMs must be a positive number/);
    assert.throws(() => new RoomcastClient({ env: {}, transport: 'carrier-pigeon' }), /transport must be/);
  });

  it('localhost names', () => {
    for (const name of ['localhost', 'LOCALHOST', 'localhost.', 'api.localhost']) assert.ok(isLocalhostName(name), name);
    for (const name of ['localhost.example.com', 'mylocalhost', '127.0.0.1', '::1']) assert.ok(!isLocalhostName(name), name);
  });
});

describe('requests are checked before anything is sent', () => {
  const cases = [
    [(c) => c.emit({ room: 'r', event: 'e', colour: 'red' }), /unknown field 'colour'/],
    [(c) => c.emit({ rooms: 'r', event: 'e' }), /field 'rooms': expected an array, got a string/],
    [(c) => c.emit({ room: 7, event: 'e' }), /field 'room': expected a string, got a number/],
    [(c) => c.emit({ event: 'e', data: 1, dataJson: '1' }), /give data or dataJson, not both/],
    [(c) => c.emit({ event: 'e', data: { big: 1n } }), /field 'data': .*BigInt/],
    [(c) => c.emitBatch([{ event: 'e' }, { event: 'e', rooms: [1] }]), /field 'emits\[1\]\.rooms\[0\]': expected a string/],
    [(c) => c.emitBatch({}), /field 'emits': expected an array/],
    [(c) => c.joinRooms({ sockets: { room: 'r', colour: 1 }, rooms: ['x'] }), /unknown field 'sockets\.colour'/],
    [(c) => c.status({ topRooms: 'many' }), /field 'topRooms': expected a number/],
    [(c) => c.emit(null), /expected an object, got null/],
  ];
  for (const [call, message] of cases) {
    it(String(message), async (t) => {
      // Both ports closed: anything sent would fail differently.
      const client = makeClient(t, { grpcTarget: `localhost:${await freePort()}`, httpUrl: `http://localhost:${await freePort()}` });
      const err = await rejection(call(client));
      assert.ok(err instanceof RoomcastError, String(err));
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, message);
      assert.equal(client.stats.lastTransport, null);
      assert.equal(client.stats.failures, 1);
    });
  }

  it('accepts proto field names too', async (t) => {
    const shim = await fakeShim(t, () => ({ status: 200, body: { recipients: '0', offset: '1', duplicate: false } }));
    const client = makeClient(t, { transport: 'http', httpUrl: shim.url });
    await client.emit({ event: 'e', except_rooms: ['a'], idempotency_key: 'k' });
    assert.deepEqual(shim.requests[0].json, { event: 'e', exceptRooms: ['a'], idempotencyKey: 'k' });
  });
});

/**
 * An HTTP server standing in for the shim: `answer(request, index)` returns
 * { status, body } (body: object → JSON, string → as is) or 'reset' to
 * destroy the connection. Records every request.
 */
async function fakeShim(t, answer) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      const request = { method: req.method, url: req.url, headers: req.headers, json };
      requests.push(request);
      const reply = answer(request, requests.length - 1);
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json' });
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { requests, url: `http://127.0.0.1:${server.address().port}` };
}

const ok = { status: 200, body: {} };

describe('the HTTP shim transport', () => {
  it("takes each method's route from the protos' google.api.http options", async (t) => {
    const shim = await fakeShim(t, () => ok);
    const client = makeClient(t, { transport: 'http', httpUrl: `${shim.url}/prefix/`, apiKey: 'sekret' });
    await client.emit({ room: 'r', event: 'e', data: { a: 1 }, idempotencyKey: 'k1' });
    await client.emit({ event: 'e', dataJson: '{"raw":true}' });
    await client.emitBatch([{ event: 'a' }, { event: 'b', idempotencyKey: 'kb' }]);
    await client.status({ topRooms: 3 });
    await client.sendTestEvent({ testRoom: 'r' });
    await client.health();
    await client.joinRooms({ sockets: { userId: 'u1' }, rooms: ['a', 'b'] });
    await client.leaveRooms({ sockets: { socketId: 's1' }, rooms: ['a'] });
    await client.disconnectSockets({ sockets: { room: 'r', namespace: '/admin' }, closeConnection: true });
    await client.listRoomSockets({ room: 'lobby', namespace: '/admin' });
    await client.history({ room: 'lobby', afterOffset: 12n, limit: 2, reverse: true });
    const seen = shim.requests.map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(seen, [
      'POST /prefix/v1/emit',
      'POST /prefix/v1/emit',
      'POST /prefix/v1/emit:batch',
      'GET /prefix/v1/status?topRooms=3',
      'POST /prefix/api/socket/status',
      'GET /prefix/v1/health',
      'POST /prefix/v1/rooms:join',
      'POST /prefix/v1/rooms:leave',
      'POST /prefix/v1/sockets:disconnect',
      'GET /prefix/v1/rooms/sockets?room=lobby&namespace=%2Fadmin',
      'GET /prefix/v1/history?room=lobby&afterOffset=12&limit=2&reverse=true',
    ]);
    const [emit, raw, batch] = shim.requests.map((r) => r.json);
    assert.deepEqual(emit, { room: 'r', event: 'e', data: { a: 1 }, idempotencyKey: 'k1' });
    assert.equal(Buffer.from(raw.dataJson, 'base64').toString(), '{"raw":true}');
    assert.match(raw.idempotencyKey, /^[0-9a-f-]{36}$/, 'a generated key');
    assert.match(batch.emits[0].idempotencyKey, /^[0-9a-f-]{36}$/);
    assert.equal(batch.emits[1].idempotencyKey, 'kb');
    assert.deepEqual(shim.requests[6].json, { sockets: { userId: 'u1' }, rooms: ['a', 'b'] });
    assert.deepEqual(shim.requests[8].json, { sockets: { namespace: '/admin', room: 'r' }, closeConnection: true });
    for (const r of shim.requests) {
      assert.equal(r.headers.authorization, 'Bearer sekret');
      assert.match(r.headers['user-agent'], /^roomcast-node\//);
    }
  });

  it('retries 502/503/504 and a reset connection with the same idempotency key', async (t) => {
    const script = [
      { status: 503, body: { code: 14, message: 'draining', details: [] } },
      { status: 502, body: '<html>bad gateway</html>' },
      'reset',
      { status: 504, body: '' },
      { status: 200, body: { recipients: '1', offset: '9', duplicate: true } },
    ];
    const shim = await fakeShim(t, (req, i) => script[i]);
    const client = makeClient(t, { transport: 'http', httpUrl: shim.url, maxAttempts: 5 });
    const res = await client.emit({ room: 'r', event: 'e' });
    assert.deepEqual(res, { recipients: '1', offset: '9', duplicate: true });
    assert.equal(shim.requests.length, 5);
    const keys = new Set(shim.requests.map((r) => r.json.idempotencyKey));
    assert.equal(keys.size, 1, `one key: ${[...keys]}`);
    assert.equal(client.stats.retries, 4);
  });

  it('gives up after maxAttempts with the last error', async (t) => {
    const shim = await fakeShim(t, () => ({ status: 503, body: { code: 14, message: 'draining', details: [] } }));
    const client = makeClient(t, { transport: 'http', httpUrl: shim.url, maxAttempts: 3 });
    const err = await rejection(client.emit({ event: 'e' }));
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(err.httpStatus, 503);
    assert.match(err.message, /^draining \(Emit: 3 attempts in \d+ ms/);
    assert.equal(err.attempts, 3);
    assert.equal(shim.requests.length, 3);
  });

  for (const [status, body, code] of [
    [400, { code: 3, message: 'bad', details: [] }, 'INVALID_ARGUMENT'],
    [401, { code: 16, message: 'key', details: [] }, 'UNAUTHENTICATED'],
    [429, { code: 8, message: 'limit', details: [] }, 'RESOURCE_EXHAUSTED'],
    [404, 'no', 'NOT_FOUND'],
    [500, { code: 13, message: 'boom', details: [] }, 'INTERNAL'],
  ]) {
    it(`does not retry ${status} ${code}`, async (t) => {
      const shim = await fakeShim(t, () => ({ status, body }));
      const client = makeClient(t, { transport: 'http', httpUrl: shim.url });
      const err = await rejection(client.emit({ event: 'e' }));
      assert.equal(err.code, code);
      assert.equal(err.httpStatus, status);
      assert.equal(err.transport, 'http');
      if (typeof body === 'object') assert.equal(err.message, body.message);
      assert.equal(shim.requests.length, 1);
    });
  }

  it('a call without an idempotency key is not repeated once it may have arrived', async (t) => {
    const shim = await fakeShim(t, () => ({ status: 503, body: { code: 14, message: 'busy', details: [] } }));
    const client = makeClient(t, { transport: 'http', httpUrl: shim.url });
    const err = await rejection(client.sendTestEvent({ testRoom: 'r' }));
    assert.equal(err.code, 'UNAVAILABLE');
    assert.equal(shim.requests.length, 1);
  });

  it('Health NOT_SERVING (HTTP 503) is an answer, not an error', async (t) => {
    const body = { status: 'NOT_SERVING', checks: [{ name: 'database', status: 'NOT_SERVING', latencyMs: 1, detail: 'down' }], uptimeSeconds: '5' };
    const shim = await fakeShim(t, () => ({ status: 503, body }));
    const client = makeClient(t, { transport: 'http', httpUrl: shim.url });
    assert.deepEqual(await client.health(), body);
    assert.equal(shim.requests.length, 1);
  });
});

/**
 * A grpc-js server standing in for roomcastd's gRPC side, on the package's
 * protos: `handlers[Method](call) -> response | { error: {code, details} } | 'hang'`.
 */
async function fakeGrpc(t, handlers) {
  const definition = protoLoader.loadSync('roomcast/v1/roomcast.proto', {
    includeDirs: [path.resolve(here, '../protos')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
  });
  const service = grpc.loadPackageDefinition(definition).roomcast.v1.Roomcast.service;
  const calls = [];
  const server = new grpc.Server();
  const impl = {};
  for (const name of Object.keys(service)) {
    impl[name] = (call, callback) => {
      calls.push({ method: name, request: call.request, metadata: call.metadata.getMap() });
      const result = handlers[name]?.(call, calls.length - 1) ?? {};
      if (result === 'hang') return;
      if (result.error) callback({ code: result.error.code, details: result.error.details });
      else callback(null, result);
    };
  }
  server.addService(service, impl);
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  return { calls, target: `127.0.0.1:${port}` };
}

describe('the gRPC transport', () => {
  it('an answered UNAVAILABLE or ABORTED is retried over gRPC, not a reason to fall back', async (t) => {
    const script = [
      { error: { code: grpc.status.UNAVAILABLE, details: 'shard busy' } },
      { error: { code: grpc.status.ABORTED, details: 'the first emit with this idempotency key failed; retry' } },
      { recipients: 2, offset: 3 },
    ];
    const fake = await fakeGrpc(t, { Emit: (call, i) => script[i] });
    const shim = await fakeShim(t, () => ok);
    const client = makeClient(t, { grpcTarget: fake.target, httpUrl: shim.url, apiKey: 'k' });
    const res = await client.emit({ room: 'r', event: 'e', data: { a: [1, 2] } });
    assert.deepEqual(res, { recipients: '2', offset: '3', duplicate: false, epoch: '' });
    assert.equal(fake.calls.length, 3);
    assert.equal(new Set(fake.calls.map((c) => c.request.idempotencyKey)).size, 1);
    // data travels as JSON text in dataJson.
    assert.equal(Buffer.from(fake.calls[0].request.dataJson).toString(), '{"a":[1,2]}');
    assert.equal(fake.calls[0].metadata.authorization, 'Bearer k');
    assert.equal(shim.requests.length, 0);
    assert.equal(client.stats.fallbacks, 0);
    assert.equal(client.stats.retries, 2);
  });

  it("History's Value, ListValue and Timestamp fields come back as the HTTP shim's JSON", async (t) => {
    const fake = await fakeGrpc(t, {
      History: () => ({
        events: [
          {
            offset: '7',
            epoch: 'e1',
            event: 'order.created',
            data: { structValue: { fields: { id: { numberValue: 42 }, tags: { listValue: { values: [{ stringValue: 'a' }, { nullValue: 'NULL_VALUE' }] } } } } },
            args: { values: [{ structValue: { fields: { id: { numberValue: 42 }, tags: { listValue: { values: [{ stringValue: 'a' }, { nullValue: 'NULL_VALUE' }] } } } } }, { boolValue: true }] },
            rooms: ['orders'],
            time: { seconds: '1796230800', nanos: 123000000 },
          },
          { offset: '8', epoch: 'e1', event: 'tick', data: { nullValue: 'NULL_VALUE' }, args: { values: [] }, time: { seconds: '1796230801', nanos: 0 } },
          { offset: '9', epoch: 'e1', event: 'tock', time: { seconds: '1796230802', nanos: 1500 } },
        ],
      }),
    });
    // What roomcastd's shim prints for the same answer (always_print_primitive_fields).
    const json = {
      events: [
        {
          offset: '7',
          epoch: 'e1',
          event: 'order.created',
          data: { id: 42, tags: ['a', null] },
          args: [{ id: 42, tags: ['a', null] }, true],
          rooms: ['orders'],
          exceptRooms: [],
          time: '2026-12-02T17:00:00.123Z',
        },
        { offset: '8', epoch: 'e1', event: 'tick', data: null, args: [], rooms: [], exceptRooms: [], time: '2026-12-02T17:00:01Z' },
        { offset: '9', epoch: 'e1', event: 'tock', rooms: [], exceptRooms: [], time: '2026-12-02T17:00:02.000001500Z' },
      ],
    };
    const shim = await fakeShim(t, () => ({ status: 200, body: json }));
    const viaGrpc = await makeClient(t, { transport: 'grpc', grpcTarget: fake.target }).history({ room: 'orders' });
    const viaHttp = await makeClient(t, { transport: 'http', httpUrl: shim.url }).history({ room: 'orders' });
    assert.deepEqual(viaGrpc, json);
    assert.deepEqual(viaHttp, json);
    assert.deepEqual(fake.calls[0].request, { namespace: '', room: 'orders', afterOffset: '0', limit: 0, reverse: false });
  });

  for (const code of ['INVALID_ARGUMENT', 'UNAUTHENTICATED', 'RESOURCE_EXHAUSTED', 'PERMISSION_DENIED', 'NOT_FOUND']) {
    it(`${code} is final`, async (t) => {
      const fake = await fakeGrpc(t, { Emit: () => ({ error: { code: grpc.status[code], details: `no: ${code}` } }) });
      const shim = await fakeShim(t, () => ok);
      const client = makeClient(t, { grpcTarget: fake.target, httpUrl: shim.url });
      const err = await rejection(client.emit({ event: 'e' }));
      assert.equal(err.code, code);
      assert.equal(err.grpcCode, grpc.status[code]);
      assert.equal(err.message, `no: ${code}`);
      assert.equal(err.transport, 'grpc');
      assert.equal(fake.calls.length, 1);
      assert.equal(shim.requests.length, 0);
    });
  }

  it('a server that never answers: DEADLINE_EXCEEDED at the deadline', async (t) => {
    const fake = await fakeGrpc(t, { Emit: () => 'hang' });
    const shim = await fakeShim(t, () => ok);
    const client = makeClient(t, { grpcTarget: fake.target, httpUrl: shim.url });
    const started = Date.now();
    const err = await rejection(client.emit({ event: 'e' }, { deadlineMs: 600 }));
    const elapsed = Date.now() - started;
    assert.equal(err.code, 'DEADLINE_EXCEEDED');
    assert.ok(elapsed >= 550 && elapsed < 1500, `${elapsed} ms`);
    assert.equal(shim.requests.length, 0, 'an answer may still come: no fallback');
  });
});

describe('deadlines and cancellation', () => {
  /** Accepts TCP connections and never writes a byte. */
  async function silentServer(t) {
    const sockets = new Set();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    });
    return server.address().port;
  }

  it('endpoints that accept and never answer: an error by the deadline', async (t) => {
    const grpcPort = await silentServer(t);
    const httpPort = await silentServer(t);
    const client = makeClient(t, { grpcTarget: `localhost:${grpcPort}`, httpUrl: `http://localhost:${httpPort}`, connectTimeoutMs: 300 });
    const started = Date.now();
    const err = await rejection(client.emit({ event: 'e' }, { deadlineMs: 1200 }));
    const elapsed = Date.now() - started;
    assert.ok(err instanceof RoomcastError);
    assert.ok(['DEADLINE_EXCEEDED', 'UNAVAILABLE'].includes(err.code), err.code);
    assert.ok(elapsed < 1200 + 500, `${elapsed} ms`);
    assert.match(err.message, /deadline/);
  });

  it('an AbortSignal cancels the call at once', async (t) => {
    const httpPort = await silentServer(t);
    const client = makeClient(t, { transport: 'http', httpUrl: `http://127.0.0.1:${httpPort}` });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await rejection(client.emit({ event: 'e' }, { signal: controller.signal, deadlineMs: 5000 }));
    assert.equal(err.code, 'CANCELLED');
    assert.ok(Date.now() - started < 1000);
  });

  it('a closed client refuses calls', async (t) => {
    const client = makeClient(t, {});
    await client.close();
    const err = await rejection(client.status());
    assert.equal(err.code, 'FAILED_PRECONDITION');
  });
});

// A retry never delivers twice: a TCP proxy forwards the first request to
// roomcastd but destroys the connection when the answer comes back, so the
// emit arrived and the client saw no answer. The retry (same idempotency key)
// is answered with the first result and `duplicate: true`; the
// socket.io-client in the room sees the event exactly once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { collect, connectSocket, freePort, makeClient, sleep, startServer } from './helpers.mjs';

/**
 * A loopback TCP proxy to 127.0.0.1:targetPort. `isAnswer(chunk, state)`
 * tells when server→client bytes carry the answer to drop; the first
 * connection on which that happens is destroyed there, every other byte and
 * connection passes through.
 */
async function dropFirstAnswerProxy(t, targetPort, isAnswer) {
  const proxy = { dropped: 0, connections: 0 };
  const sockets = new Set();
  const server = net.createServer((client) => {
    proxy.connections += 1;
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    const state = {};
    upstream.on('data', (chunk) => {
      if (proxy.dropped === 0 && isAnswer(chunk, state)) {
        proxy.dropped += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = server.address().port;
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}

// HTTP/1.1: the first bytes from the server are the response.
const httpAnswer = () => true;

// HTTP/2 (gRPC): frames are 9-byte headers (24-bit length, type, flags,
// stream id). The server's SETTINGS and the like pass; its first HEADERS
// frame (type 1) on a stream is the answer.
function h2Answer(chunk, state) {
  state.buffer = state.buffer ? Buffer.concat([state.buffer, chunk]) : chunk;
  let offset = 0;
  while (state.buffer.length - offset >= 9) {
    const length = state.buffer.readUIntBE(offset, 3);
    const type = state.buffer[offset + 3];
    const stream = state.buffer.readUInt32BE(offset + 5) & 0x7fffffff;
    if (type === 1 && stream !== 0) return true;
    offset += 9 + length;
  }
  return false;
}

describe('a retry after a dropped response delivers once', () => {
  const cases = [
    {
      name: 'over the HTTP shim (transport http)',
      options: (server, proxy) => ({ transport: 'http', httpUrl: `http://127.0.0.1:${proxy.port}` }),
      proxied: (server) => server.port,
      isAnswer: httpAnswer,
      transport: 'http',
    },
    {
      name: 'over the HTTP shim as the fallback (gRPC port closed)',
      options: async (server, proxy) => ({ grpcTarget: `localhost:${await freePort()}`, httpUrl: `http://localhost:${proxy.port}` }),
      proxied: (server) => server.port,
      isAnswer: httpAnswer,
      transport: 'http',
    },
    {
      name: 'over gRPC (transport grpc: retried on a new connection)',
      options: (server, proxy) => ({ transport: 'grpc', grpcTarget: `127.0.0.1:${proxy.port}` }),
      proxied: (server) => server.grpcPort,
      isAnswer: h2Answer,
      transport: 'grpc',
    },
    {
      name: 'over gRPC, then the HTTP shim (auto: the broken connection counts as unreachable)',
      options: (server, proxy) => ({ grpcTarget: `127.0.0.1:${proxy.port}`, httpUrl: `http://127.0.0.1:${server.port}` }),
      proxied: (server) => server.grpcPort,
      isAnswer: h2Answer,
      transport: 'http',
    },
  ];

  for (const c of cases) {
    it(c.name, async (t) => {
      const server = await startServer(t);
      const socket = await connectSocket(t, server.port, ['once']);
      const seen = collect(socket, 'once.event');
      const proxy = await dropFirstAnswerProxy(t, c.proxied(server), c.isAnswer);
      const client = makeClient(t, await c.options(server, proxy));

      const res = await client.emit({ room: 'once', event: 'once.event', data: { n: 1 } });
      assert.equal(proxy.dropped, 1, 'the first answer was dropped');
      // The retry reached the server, which knew the key: nothing sent again.
      assert.deepEqual({ ...res, offset: '', epoch: '' }, { recipients: '1', offset: '', epoch: '', duplicate: true });
      assert.equal(client.stats.lastTransport, c.transport);
      await sleep(300);
      assert.deepEqual(seen, [{ n: 1 }], 'delivered exactly once');

      // A new call gets a new key: delivered again.
      const next = await client.emit({ room: 'once', event: 'once.event', data: { n: 2 } });
      assert.equal(next.duplicate, false);
      await sleep(200);
      assert.deepEqual(seen, [{ n: 1 }, { n: 2 }]);
    });
  }

  it("a caller's idempotency key holds across transports and calls", async (t) => {
    const server = await startServer(t);
    const socket = await connectSocket(t, server.port, ['keyed']);
    const seen = collect(socket, 'keyed.event');
    const grpc = makeClient(t, { transport: 'grpc', grpcTarget: `localhost:${server.grpcPort}` });
    const http = makeClient(t, { transport: 'http', httpUrl: `http://localhost:${server.port}` });
    const request = { room: 'keyed', event: 'keyed.event', data: 'x', idempotencyKey: 'order-42-created' };
    const first = await grpc.emit(request);
    const again = await http.emit(request);
    const batch = await grpc.emitBatch([request, { ...request, idempotencyKey: 'order-43-created' }]);
    assert.equal(first.duplicate, false);
    assert.deepEqual(again, { ...first, duplicate: true });
    assert.deepEqual(batch.results[0].emitted, { ...first, duplicate: true });
    assert.equal(batch.results[1].emitted.duplicate, false);
    await sleep(300);
    assert.deepEqual(seen, ['x', 'x']);
  });
});

// `localhost` means loopback on both families, whatever /etc/hosts says: a
// roomcastd bound to ::1 only or to 127.0.0.1 only is reached through
// `localhost` over gRPC and over HTTP.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { collect, connectSocket, kStepMs, makeClient, startServer, targetsOf, waitUntil } from './helpers.mjs';

/** Resolves true when a TCP connection to host:port is accepted. */
function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const families = [
  { host: '::1', other: '127.0.0.1', grpc: /^ipv6:\[::1\]:/, http: /^http:\/\/\[::1\]:/ },
  { host: '127.0.0.1', other: '::1', grpc: /^ipv4:127\.0\.0\.1:/, http: /^http:\/\/127\.0\.0\.1:/ },
];

for (const family of families) {
  describe(`a server bound to ${family.host} only`, () => {
    const setup = async (t) => {
      const server = await startServer(t, [`--host=${family.host}`]);
      // The test means something only if the other family really refuses.
      assert.equal(await accepts(family.other, server.port), false, `${family.other}:${server.port} should refuse`);
      assert.equal(await accepts(family.other, server.grpcPort), false, `${family.other}:${server.grpcPort} should refuse`);
      const socket = await connectSocket(t, server.port, ['lo'], family.host);
      return { server, seen: collect(socket, 'lo.event') };
    };

    for (const transport of ['auto', 'grpc', 'http']) {
      it(`is reached through localhost (transport ${transport})`, async (t) => {
        const { server, seen } = await setup(t);
        const client = makeClient(t, { ...targetsOf(server, 'localhost'), transport });
        for (let i = 0; i < 2; i += 1) {
          const res = await client.emit({ room: 'lo', event: 'lo.event', data: { i } });
          assert.equal(res.recipients, '1');
        }
        await waitUntil(() => seen.length === 2, kStepMs, 'two events');
        assert.deepEqual(seen, [{ i: 0 }, { i: 1 }]);
        const stats = client.stats;
        if (transport === 'http') {
          assert.equal(stats.lastTransport, 'http');
          assert.match(stats.httpAddress, family.http);
        } else {
          assert.equal(stats.lastTransport, 'grpc');
          assert.match(stats.grpcAddress, family.grpc);
          assert.equal(stats.fallbacks, 0);
        }
        assert.equal(stats.retries, 0);
        assert.deepEqual(client.logs, []);
      });
    }
  });
}

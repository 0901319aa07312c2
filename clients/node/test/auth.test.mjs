// INTERNAL_API_KEY: the key passes on both transports (read from the
// environment or given), a wrong or missing key is UNAUTHENTICATED at once (no
// retry, no fallback), and Health stays open.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RoomcastError } from '@roomcast/client';
import { collect, connectSocket, kStepMs, makeClient, rejection, startServer, targetsOf, waitUntil } from './helpers.mjs';

const kKey = 'k3y-for-tests';

describe('the internal API key', () => {
  it('passes over gRPC and over HTTP, configured from the environment', async (t) => {
    const server = await startServer(t, [`--internal_api_key=${kKey}`]);
    const socket = await connectSocket(t, server.port, ['keyed']);
    const seen = collect(socket, 'k');
    const env = {
      ROOMCAST_GRPC_TARGET: `localhost:${server.grpcPort}`,
      INTERNAL_API_URL: `http://localhost:${server.port}`,
      INTERNAL_API_KEY: kKey,
    };
    for (const transport of ['auto', 'grpc', 'http']) {
      const client = makeClient(t, { env, transport });
      assert.equal(client.grpcTarget, env.ROOMCAST_GRPC_TARGET);
      assert.equal(client.httpUrl, env.INTERNAL_API_URL);
      const res = await client.emit({ room: 'keyed', event: 'k', data: transport });
      assert.equal(res.recipients, '1');
      assert.equal((await client.status()).connections, '1');
      assert.equal(client.stats.lastTransport, transport === 'http' ? 'http' : 'grpc');
    }
    await waitUntil(() => seen.length === 3, kStepMs, 'three keyed events');
    assert.deepEqual(seen, ['auto', 'grpc', 'http']);
  });

  it('a wrong or missing key is UNAUTHENTICATED at once, on either transport', async (t) => {
    const server = await startServer(t, [`--internal_api_key=${kKey}`]);
    for (const apiKey of ['wrong', undefined]) {
      for (const transport of ['auto', 'http']) {
        const client = makeClient(t, { ...targetsOf(server), transport, apiKey });
        const err = await rejection(client.emit({ room: 'r', event: 'e' }));
        assert.ok(err instanceof RoomcastError, String(err));
        assert.equal(err.code, 'UNAUTHENTICATED');
        assert.match(err.message, /a valid internal API key is required/);
        assert.equal(err.httpStatus, transport === 'http' ? 401 : undefined);
        assert.equal(err.transport, transport === 'http' ? 'http' : 'grpc');
        assert.equal(err.attempts, 1);
        assert.equal(client.stats.retries, 0);
        assert.equal(client.stats.fallbacks, 0);
        // Health needs no key.
        assert.equal((await client.health()).status, 'SERVING');
      }
    }
  });
});

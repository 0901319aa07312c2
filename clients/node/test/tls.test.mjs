// TLS from the package's side against a roomcastd with TLS on both ports and
// mTLS on gRPC (certificates made with openssl here): caFile and a client
// certificate give gRPC; with gRPC unreachable the call goes to the HTTPS
// shim; an http: URL with TLS settings is refused up front (no plain
// fallback); a server certificate from another CA and half a key pair fail
// with errors that say why. The environment variables work as the options do.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { io } from 'socket.io-client';
import { hasOpenssl, makeTlsFixture } from '../../../tests/support/tls.js';
import { collect, freePort, kStepMs, makeClient, rejection, startServer, stopServer, waitUntil, withTimeout } from './helpers.mjs';

describe('TLS and mTLS', { skip: !hasOpenssl() && 'openssl is not installed' }, () => {
  let dir;
  let certs;
  let otherCa;
  let server;
  let socket;
  let seen;

  let fixture;

  before(async () => {
    fixture = makeTlsFixture('roomcast-node-tls-');
    ({ dir, certs, otherCa } = fixture);
    server = await startServer(null, [`--tls_cert_file=${certs.cert}`, `--tls_key_file=${certs.key}`, `--tls_client_ca_file=${certs.ca}`]);
    socket = io(`https://localhost:${server.port}`, {
      forceNew: true, reconnection: false, transports: ['websocket'], auth: { rooms: ['secure'] }, ca: fs.readFileSync(certs.ca),
    });
    await withTimeout(new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    }), kStepMs, 'socket.io over wss');
    seen = collect(socket, 'tls.event');
  });
  after(async () => {
    socket?.close();
    await stopServer(server);
    fixture?.remove();
  });

  const files = () => ({ caFile: certs.ca, clientCertFile: certs.clientCert, clientKeyFile: certs.clientKey });
  const urls = () => ({ grpcTarget: `localhost:${server.grpcPort}`, httpUrl: `https://localhost:${server.port}` });

  it('emits over gRPC with the client certificate (options or ROOMCAST_* variables)', async (t) => {
    const fromOptions = makeClient(t, { ...urls(), ...files() });
    const fromEnv = makeClient(t, {
      env: {
        ROOMCAST_GRPC_TARGET: `localhost:${server.grpcPort}`,
        INTERNAL_API_URL: `https://localhost:${server.port}`,
        ROOMCAST_CA_FILE: certs.ca,
        ROOMCAST_CLIENT_CERT_FILE: certs.clientCert,
        ROOMCAST_CLIENT_KEY_FILE: certs.clientKey,
      },
    });
    for (const [n, client] of [[1, fromOptions], [2, fromEnv]]) {
      const res = await client.emit({ room: 'secure', event: 'tls.event', data: { n } });
      assert.equal(res.recipients, '1');
      assert.equal(client.stats.lastTransport, 'grpc', JSON.stringify(client.stats));
      assert.equal(client.stats.fallbacks, 0, client.logs.join('\n'));
    }
    await waitUntil(() => seen.length >= 2, kStepMs, 'both events over wss');
    assert.deepEqual(seen.slice(-2), [{ n: 1 }, { n: 2 }]);
  });

  it('with gRPC unreachable the call goes to the HTTPS shim (trusting the CA file)', async (t) => {
    const client = makeClient(t, { ...urls(), ...files(), grpcTarget: `localhost:${await freePort()}` });
    const res = await client.emit({ room: 'secure', event: 'tls.event', data: { n: 3 } });
    assert.equal(res.recipients, '1');
    assert.equal(client.stats.lastTransport, 'http');
    assert.equal(client.stats.httpAddress, `https://localhost:${server.port}`);
    await waitUntil(() => seen.some((e) => e.n === 3), kStepMs, 'the event through the HTTPS shim');
  });

  it('refuses an http: URL when TLS is set, and half a key pair, up front', () => {
    assert.throws(() => makeClient({ after() {} }, { ...files(), httpUrl: `http://localhost:${server.port}` }),
      /INTERNAL_API_URL \/ httpUrl must be https:.*no plain-HTTP fallback/);
    assert.throws(() => makeClient({ after() {} }, { ...urls(), clientCertFile: certs.clientCert }),
      /ROOMCAST_CLIENT_KEY_FILE/);
    assert.throws(() => makeClient({ after() {} }, { ...urls(), caFile: path.join(dir, 'missing.pem') }),
      /ROOMCAST_CA_FILE \/ caFile .*missing\.pem.* cannot be read/);
  });

  it('a server certificate from another CA fails on both transports, saying why', async (t) => {
    const client = makeClient(t, { ...urls(), ...files(), caFile: otherCa, deadlineMs: 1500 });
    const err = await rejection(client.emit({ room: 'secure', event: 'tls.event', data: { n: 4 } }));
    assert.equal(err.code, 'UNAVAILABLE', err.message);
    assert.match(err.message, /certificate/i, err.message);
    assert.ok(!seen.some((e) => e.n === 4), 'nothing delivered');
  });
});

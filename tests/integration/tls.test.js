// TLS on both ports (--tls_cert_file/--tls_key_file): HTTPS and wss on the
// HTTP port (health, metrics, Socket.IO over WebSocket and polling), TLS and
// mTLS (--tls_client_ca_file) on gRPC, certificates swapped on disk the way
// Kubernetes does it (a `..data` symlink) picked up live, a bad new pair
// kept out and counted, and bad files at startup refused by name. The CA and
// certificates are made with openssl here.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parsePrometheus, pollUntil, sampleValue } from '../support/control.js';
import { runToExit, stopServer } from '../support/fixtures.js';
import { grpc, Reflection } from '../support/grpc.js';
import { startRoomcastd } from '../support/process.js';
import { hasOpenssl, makeCertificates, SecretVolume } from '../support/tls.js';
import { closeAll, connect, waitForArgs, withTimeout } from '../support/sio.js';

const kService = 'roomcast.v1.Roomcast';

/** GET over HTTPS trusting `ca` (and presenting nothing). Resolves { status, body }. */
function httpsGet(port, pathname, ca) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = https.get({ host: 'localhost', port, path: pathname, ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
  }), 5000, `GET https://localhost:${port}${pathname}`);
}

/** The serial number (hex) of the certificate a new TLS connection to `port` is shown. */
function serialOf(port, ca, { alpn } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = tls.connect({ host: 'localhost', port, ca, servername: 'localhost', ALPNProtocols: alpn }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(parseInt(serial, 16));
    });
    socket.on('error', reject);
  }), 5000, `a TLS handshake with port ${port}`);
}

function curl(args) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '5', ...args], (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
}

async function metricsOf(port, ca) {
  const res = await httpsGet(port, '/metrics', ca);
  assert.equal(res.status, 200);
  return parsePrometheus(res.body);
}

const reloads = (metrics, result) => sampleValue(metrics, 'roomcast_tls_reloads_total', { result }) ?? 0;

describe('TLS on both ports', { skip: !hasOpenssl() && 'openssl is not installed' }, () => {
  let certs;
  let volume;
  let server;
  let ca;
  const sockets = [];
  const channels = [];

  const grpcClient = async ({ withCertificate }) => {
    const credentials = grpc.credentials.createSsl(ca, withCertificate ? fs.readFileSync(path.join(certs.dir, 'client.key')) : null,
      withCertificate ? fs.readFileSync(path.join(certs.dir, 'client.pem')) : null);
    const reflection = new Reflection(`localhost:${server.grpcPort}`, { credentials });
    channels.push(reflection);
    return reflection;
  };
  const wsUrl = () => `https://localhost:${server.port}`;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-tls-test-'));
    certs = makeCertificates(dir);
    ca = fs.readFileSync(certs.ca);
    volume = new SecretVolume(path.join(dir, 'secret'));
    volume.put(path.join(dir, 'one.pem'), path.join(dir, 'one.key'));
    server = await startRoomcastd([`--tls_cert_file=${volume.cert}`, `--tls_key_file=${volume.key}`,
      `--tls_client_ca_file=${certs.ca}`, '--tls_reload_interval_s=1']);
  });
  after(async () => {
    closeAll(sockets);
    for (const c of channels) c.close();
    await stopServer(server);
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it('curl --cacert reaches /api/health and /metrics over HTTPS; plain HTTP gets no answer', async () => {
    const health = await curl(['--cacert', certs.ca, `https://localhost:${server.port}/api/health`]);
    assert.equal(health.error, null, health.stderr);
    assert.match(health.stdout, /"status"/);
    const metrics = await curl(['--cacert', certs.ca, `https://localhost:${server.port}/metrics`]);
    assert.equal(metrics.error, null, metrics.stderr);
    assert.match(metrics.stdout, /roomcast_tls_reloads_total\{result="ok"\} 0/);
    const plain = await curl([`http://localhost:${server.port}/api/health`]);
    assert.notEqual(plain.error, null, 'plain HTTP on the TLS port does not work');
    const untrusted = await curl([`https://localhost:${server.port}/api/health`]);
    assert.notEqual(untrusted.error, null, 'without the CA curl refuses the certificate');
  });

  it('TLS 1.1 is refused, TLS 1.2 is taken', async () => {
    const old = await curl(['--cacert', certs.ca, '--tlsv1.1', '--tls-max', '1.1', `https://localhost:${server.port}/healthz`]);
    assert.notEqual(old.error, null, 'TLS 1.1 handshake refused');
    const v12 = await curl(['--cacert', certs.ca, '--tlsv1.2', '--tls-max', '1.2', `https://localhost:${server.port}/healthz`]);
    assert.equal(v12.error, null, v12.stderr);
  });

  it('socket.io-client over wss and over polling on HTTPS receives a gRPC Emit (mTLS)', async () => {
    const ws = await connect(wsUrl(), { transports: ['websocket'], ca, query: { who: 'ws' } });
    sockets.push(ws);
    const polling = await connect(wsUrl(), { transports: ['polling'], ca });
    sockets.push(polling);
    // The default: polling first, then the upgrade to wss.
    const upgraded = await connect(wsUrl(), { ca });
    sockets.push(upgraded);
    await pollUntil(() => upgraded.io.engine.transport.name === 'websocket', { what: 'the upgrade to wss' });
    assert.equal(ws.io.engine.transport.name, 'websocket');
    assert.equal(polling.io.engine.transport.name, 'polling');
    const roomcast = await (await grpcClient({ withCertificate: true })).service(kService);
    const got = [ws, polling, upgraded].map((s) => waitForArgs(s, 'over.tls'));
    const res = await roomcast.call('Emit', { event: 'over.tls', data: { n: 1 } });
    assert.equal(res.recipients, '3');
    for (const args of await Promise.all(got)) assert.deepEqual(args, [{ n: 1 }]);
  });

  it('a gRPC client without a certificate is refused, one with a certificate accepted', async () => {
    const without = await grpcClient({ withCertificate: false });
    await assert.rejects(without.listServices(), (err) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
      return true;
    });
    const withCert = await grpcClient({ withCertificate: true });
    assert.ok((await withCert.listServices()).includes(kService));
  });

  it('a certificate swapped on disk is picked up live; open connections keep theirs', async () => {
    assert.equal(await serialOf(server.port, ca), 1001);
    assert.equal(await serialOf(server.grpcPort, ca, { alpn: ['h2'] }), 1001);
    const before = sockets.find((s) => s.io.engine.transport.name === 'websocket');
    volume.put(path.join(certs.dir, 'two.pem'), path.join(certs.dir, 'two.key'));
    await pollUntil(async () => (await serialOf(server.port, ca)) === 1002, { what: 'HTTPS to show the new certificate', timeoutMs: 8000 });
    await pollUntil(async () => (await serialOf(server.grpcPort, ca, { alpn: ['h2'] })) === 1002,
      { what: 'gRPC to show the new certificate', timeoutMs: 8000 });
    const metrics = await metricsOf(server.port, ca);
    assert.equal(reloads(metrics, 'ok'), 1);
    assert.equal(reloads(metrics, 'error'), 0);
    // The WebSocket opened under the old certificate still carries events.
    const got = waitForArgs(before, 'after.swap');
    const roomcast = await (await grpcClient({ withCertificate: true })).service(kService);
    await roomcast.call('Emit', { event: 'after.swap', data: 2 });
    assert.deepEqual(await got, [2]);
  });

  it('a bad new pair keeps the old one and is counted', async () => {
    // The first certificate with the second key: they do not match.
    volume.put(path.join(certs.dir, 'one.pem'), path.join(certs.dir, 'two.key'));
    await pollUntil(async () => reloads(await metricsOf(server.port, ca), 'error') === 1,
      { what: 'the bad pair to be counted', timeoutMs: 8000 });
    assert.equal(await serialOf(server.port, ca), 1002);
    assert.equal(await serialOf(server.grpcPort, ca, { alpn: ['h2'] }), 1002);
    assert.match(server.output(), /TLS reload failed, keeping the old certificate setting=--tls_key_file/);
    const roomcast = await (await grpcClient({ withCertificate: true })).service(kService);
    assert.equal((await roomcast.call('Emit', { event: 'still.up' })).duplicate, false);
    const metrics = await metricsOf(server.port, ca);
    assert.equal(reloads(metrics, 'ok'), 1, 'the bad pair is counted once, not at every check');
  });
});

describe('TLS without client certificates', { skip: !hasOpenssl() && 'openssl is not installed' }, () => {
  let certs;
  let server;
  let reflection;
  before(async () => {
    certs = makeCertificates(fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-tls-test-')));
    server = await startRoomcastd([], {
      env: { ROOMCAST_TLS_CERT_FILE: path.join(certs.dir, 'one.pem'), ROOMCAST_TLS_KEY_FILE: path.join(certs.dir, 'one.key') },
    });
  });
  after(async () => {
    reflection?.close();
    await stopServer(server);
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it('gRPC Emit over TLS with the CA alone; plaintext gRPC is refused', async () => {
    const ca = fs.readFileSync(certs.ca);
    const socket = await connect(`https://localhost:${server.port}`, { transports: ['websocket'], ca });
    try {
      reflection = new Reflection(`localhost:${server.grpcPort}`, { credentials: grpc.credentials.createSsl(ca) });
      const roomcast = await reflection.service(kService);
      const got = waitForArgs(socket, 'tls.only');
      assert.equal((await roomcast.call('Emit', { event: 'tls.only', data: 'x' })).recipients, '1');
      assert.deepEqual(await got, ['x']);
      const plain = new Reflection(`localhost:${server.grpcPort}`);
      try {
        await assert.rejects(plain.listServices(), (err) => err.code === grpc.status.UNAVAILABLE);
      } finally {
        plain.close();
      }
    } finally {
      socket.close();
    }
  });
});

describe('bad TLS settings at startup', { skip: !hasOpenssl() && 'openssl is not installed' }, () => {
  let certs;
  before(() => {
    certs = makeCertificates(fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-tls-test-')));
    fs.writeFileSync(path.join(certs.dir, 'garbage.pem'), 'not a certificate\n');
  });
  after(() => certs && fs.rmSync(certs.dir, { recursive: true, force: true }));

  const refused = async (args, pattern) => {
    const run = await runToExit(['--port=0', '--grpc_port=0', ...args]);
    assert.notEqual(run.code, 0, `roomcastd must not start: ${run.stderr}`);
    assert.equal(run.timedOut, false);
    assert.match(run.stderr + run.stdout, pattern);
  };
  const f = (name) => path.join(certs.dir, name);

  it('a certificate without a key (and a key without a certificate)', async () => {
    await refused([`--tls_cert_file=${f('one.pem')}`], /--tls_cert_file \(ROOMCAST_TLS_CERT_FILE\) needs --tls_key_file/);
    await refused([`--tls_key_file=${f('one.key')}`], /--tls_key_file \(ROOMCAST_TLS_KEY_FILE\) needs --tls_cert_file/);
  });

  it('a missing, a bad and a mismatched file, each named', async () => {
    await refused([`--tls_cert_file=${f('missing.pem')}`, `--tls_key_file=${f('one.key')}`],
      /--tls_cert_file \(ROOMCAST_TLS_CERT_FILE\): cannot read/);
    await refused([`--tls_cert_file=${f('garbage.pem')}`, `--tls_key_file=${f('one.key')}`],
      /--tls_cert_file \(ROOMCAST_TLS_CERT_FILE\): no PEM certificate/);
    await refused([`--tls_cert_file=${f('one.pem')}`, `--tls_key_file=${f('garbage.pem')}`],
      /--tls_key_file \(ROOMCAST_TLS_KEY_FILE\): no PEM private key/);
    await refused([`--tls_cert_file=${f('one.pem')}`, `--tls_key_file=${f('two.key')}`],
      /--tls_key_file \(ROOMCAST_TLS_KEY_FILE\): the key is not the certificate's/);
    await refused([`--tls_cert_file=${f('one.pem')}`, `--tls_key_file=${f('one.key')}`, `--tls_client_ca_file=${f('garbage.pem')}`],
      /--tls_client_ca_file \(ROOMCAST_TLS_CLIENT_CA_FILE\): no PEM certificate/);
    await refused([`--tls_client_ca_file=${f('ca.pem')}`], /--tls_client_ca_file \(ROOMCAST_TLS_CLIENT_CA_FILE\) needs/);
  });
});

// Configuration (flags and env vars), health endpoints, listening addresses,
// CORS, and shutdown: SIGTERM drain and SIGINT.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { roomcastdPath, startProcess, startRoomcastd } from '../support/process.js';
import { freePort, runToExit, stopServer, useRoomcastd } from '../support/fixtures.js';
import { RawWs, eioPath, pollPost, request } from '../support/raw.js';
import { baseUrl, connect, makeSocket, roomsOf, sleep, waitFor, withTimeout } from '../support/sio.js';

/** Non-empty lines of a process stream. */
const lines = (text) => text.split('\n').filter((l) => l.trim() !== '');

/** Resolves true if GET /healthz on host:port answers 200, false if the connection fails. */
async function reachable(port, host) {
  try {
    return (await request(port, { host, path: '/healthz', timeoutMs: 1500 })).status === 200;
  } catch {
    return false;
  }
}

/** Starts roomcastd, runs `fn(server)`, always stops it. */
async function withServer(flags, options, fn) {
  const server = await startRoomcastd(flags, options);
  try {
    return await fn(server);
  } finally {
    await stopServer(server);
  }
}

describe('invalid configuration', () => {
  async function assertRefusedStart(args, env, settingPattern) {
    const run = await runToExit(args, { env });
    assert.equal(run.timedOut, false, 'exits on its own');
    assert.notEqual(run.code, 0, `exit code ${run.code}`);
    assert.doesNotMatch(run.stdout + run.stderr, /listening/);
    const errLines = lines(run.stderr);
    assert.equal(errLines.length, 1, `one stderr line, got:\n${run.stderr}`);
    assert.match(errLines[0], settingPattern);
  }

  it('--port=abc exits non-zero naming the flag', async () => {
    await assertRefusedStart(['--port=abc'], {}, /port/i);
  });

  it('PORT=abc exits non-zero naming the variable', async () => {
    await assertRefusedStart([], { PORT: 'abc' }, /PORT/);
  });

  it('an unknown flag exits non-zero naming it', async () => {
    await assertRefusedStart(['--port=0', '--no_such_flag=1'], {}, /no_such_flag/);
  });

  it('--ping_interval_ms=soon exits non-zero naming the flag', async () => {
    await assertRefusedStart(['--port=0', '--ping_interval_ms=soon'], {}, /ping_interval_ms/);
  });

  it('--help documents the environment variables', async () => {
    const run = await runToExit(['--help']);
    assert.equal(run.timedOut, false);
    const text = run.stdout + run.stderr;
    for (const name of ['PORT', 'HOSTNAME', 'CORS_ORIGIN', 'NODE_ENV']) {
      assert.match(text, new RegExp(`\\b${name}\\b`), `--help mentions ${name}`);
    }
  });
});

describe('HTTP endpoints', () => {
  const fx = useRoomcastd();

  it('/healthz -> 200, /readyz -> 200, unknown path -> 404', async () => {
    assert.equal((await request(fx.port, { path: '/healthz' })).status, 200);
    assert.equal((await request(fx.port, { path: '/readyz' })).status, 200);
    assert.equal((await request(fx.port, { path: '/no/such/path' })).status, 404);
    assert.equal((await request(fx.port, { path: '/healthzzz' })).status, 404);
  });
});

describe('listening addresses', () => {
  it('listens dual-stack on :: by default (IPv4 and IPv6 loopback)', async () => {
    await withServer([], {}, async ({ port }) => {
      for (const host of ['127.0.0.1', '::1']) {
        const socket = await connect(baseUrl(port, host));
        try {
          assert.deepEqual(await roomsOf(socket), []);
        } finally {
          socket.close();
        }
      }
    });
  });

  it('--host=127.0.0.1 listens on IPv4 only', async () => {
    await withServer(['--host=127.0.0.1'], {}, async ({ port }) => {
      assert.equal(await reachable(port, '127.0.0.1'), true);
      assert.equal(await reachable(port, '::1'), false);
    });
  });

  it('--host=::1 listens on IPv6 only', async () => {
    await withServer(['--host=::1'], {}, async ({ port }) => {
      assert.equal(await reachable(port, '::1'), true);
      assert.equal(await reachable(port, '127.0.0.1'), false);
    });
  });

  it('HOSTNAME=127.0.0.1 binds IPv4 only; a non-IP HOSTNAME is ignored', async () => {
    await withServer([], { env: { HOSTNAME: '127.0.0.1' } }, async ({ port }) => {
      assert.equal(await reachable(port, '::1'), false);
      assert.equal(await reachable(port, '127.0.0.1'), true);
    });
    await withServer([], { env: { HOSTNAME: 'roomcast-pod-7' } }, async ({ port }) => {
      assert.equal(await reachable(port, '::1'), true);
      assert.equal(await reachable(port, '127.0.0.1'), true);
    });
  });

  it('PORT sets the port when no --port flag is given', async () => {
    const port = await freePort();
    const server = await startProcess(roomcastdPath, [], { env: { PORT: String(port) } });
    try {
      assert.equal(server.port, port);
      assert.equal(await reachable(port, '127.0.0.1'), true);
    } finally {
      await stopServer(server);
    }
  });
});

describe('CORS', () => {
  const allowed = 'http://allowed.example';
  const second = 'http://second.example:8080';
  const evil = 'http://evil.example';
  const handshakePath = eioPath('transport=polling');

  function assertAllowedHeaders(res, origin) {
    assert.equal(res.headers['access-control-allow-origin'], origin);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
  }

  function preflight(port, origin) {
    return request(port, {
      method: 'OPTIONS',
      path: handshakePath,
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
  }

  describe('with --cors_origin', () => {
    const fx = useRoomcastd([`--cors_origin=${allowed},${second}`]);

    it('answers an allowed origin with allow-origin and allow-credentials', async () => {
      for (const origin of [allowed, second]) {
        const res = await request(fx.port, { path: handshakePath, headers: { Origin: origin } });
        assert.equal(res.status, 200, res.body);
        assertAllowedHeaders(res, origin);
        const { sid } = JSON.parse(res.body.slice(1));
        const posted = await pollPost(fx.port, sid, '40', { headers: { Origin: origin } });
        assert.equal(posted.status, 200);
        assertAllowedHeaders(posted, origin);
      }
    });

    it('answers a preflight from an allowed origin with 204 and the allow headers', async () => {
      const res = await preflight(fx.port, allowed);
      assert.equal(res.status, 204);
      assertAllowedHeaders(res, allowed);
      const methods = res.headers['access-control-allow-methods'] ?? '';
      for (const m of ['GET', 'POST']) assert.match(methods, new RegExp(`\\b${m}\\b`), `allow-methods: ${methods}`);
      assert.match(res.headers['access-control-allow-headers'] ?? '', /content-type/i);
    });

    it('refuses a disallowed origin: 403 {"code":4,"message":"Forbidden"}', async () => {
      const res = await request(fx.port, { path: handshakePath, headers: { Origin: evil } });
      assert.equal(res.status, 403);
      assert.deepEqual(JSON.parse(res.body), { code: 4, message: 'Forbidden' });
      assert.notEqual(res.headers['access-control-allow-origin'], evil);
      const pre = await preflight(fx.port, evil);
      assert.notEqual(pre.headers['access-control-allow-origin'], evil);
      assert.notEqual(pre.headers['access-control-allow-origin'], '*');
    });

    it('refuses the WebSocket handshake from a disallowed origin', async () => {
      const err = await RawWs.open(fx.port, { headers: { Origin: evil } }).then(
        (raw) => {
          raw.close();
          return null;
        },
        (e) => e,
      );
      assert.ok(err, 'WebSocket from a disallowed origin must not open');
      if (err.statusCode !== undefined) assert.ok(err.statusCode >= 400, `status ${err.statusCode}`);
    });

    it('accepts the WebSocket handshake from an allowed origin and clients without Origin', async () => {
      const raw = await RawWs.open(fx.port, { headers: { Origin: allowed } });
      raw.close();
      const res = await request(fx.port, { path: handshakePath });
      assert.equal(res.status, 200);
      const socket = await connect(fx.url());
      socket.close();
    });
  });

  it('CORS_ORIGIN env works like the flag', async () => {
    await withServer([], { env: { CORS_ORIGIN: allowed } }, async ({ port }) => {
      assertAllowedHeaders(await request(port, { path: handshakePath, headers: { Origin: allowed } }), allowed);
      assert.equal((await request(port, { path: handshakePath, headers: { Origin: evil } })).status, 403);
    });
  });

  describe('without --cors_origin (not production)', () => {
    const fx = useRoomcastd([], { env: { NODE_ENV: 'development', CORS_ORIGIN: undefined } });

    it('echoes any origin', async () => {
      for (const origin of [allowed, evil, 'http://localhost:5173']) {
        const res = await request(fx.port, { path: handshakePath, headers: { Origin: origin } });
        assert.equal(res.status, 200);
        assert.equal(res.headers['access-control-allow-origin'], origin);
        const pre = await preflight(fx.port, origin);
        assert.equal(pre.status, 204);
        assert.equal(pre.headers['access-control-allow-origin'], origin);
      }
      const raw = await RawWs.open(fx.port, { headers: { Origin: evil } });
      raw.close();
    });
  });
});

describe('shutdown', () => {
  const kGrace = 600;
  const kDeadline = 3000;

  /** Polls GET /readyz until it answers `status`; resolves ms since `t0`. */
  async function readyzTurns(port, status, t0, limitMs) {
    while (Date.now() - t0 < limitMs) {
      const res = await request(port, { path: '/readyz', timeoutMs: 500 });
      if (res.status === status) return Date.now() - t0;
      await sleep(20);
    }
    throw new Error(`/readyz did not turn ${status} within ${limitMs} ms`);
  }

  /** A socket.io-client that records its disconnect and first reconnect attempt. */
  async function watchedClient(port, transports) {
    const socket = makeSocket(baseUrl(port), {
      transports,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      reconnectionAttempts: 5,
      randomizationFactor: 0,
    });
    const connected = waitFor(socket, 'connect');
    socket.connect();
    await connected;
    const watch = { socket, transport: transports[0] };
    watch.disconnected = new Promise((resolve) => {
      socket.once('disconnect', (reason) => resolve({ reason, at: Date.now() }));
    });
    watch.reconnectAttempt = waitFor(socket.io, 'reconnect_attempt', 10000).then(() => true);
    watch.reconnectAttempt.catch(() => {});
    return watch;
  }

  it('SIGTERM: readyz 503 at once, sessions closed after the grace period, exit 0 before the deadline', async (t) => {
    const server = await startRoomcastd([`--drain_grace_ms=${kGrace}`, `--drain_deadline_ms=${kDeadline}`]);
    const clients = [];
    t.after(async () => {
      for (const c of clients) c.socket.close();
      await stopServer(server);
    });
    clients.push(await watchedClient(server.port, ['websocket']));
    clients.push(await watchedClient(server.port, ['polling']));
    const raw = await RawWs.openSio(server.port);
    t.after(() => raw.close());
    assert.equal((await request(server.port, { path: '/readyz' })).status, 200);

    const t0 = Date.now();
    server.child.kill('SIGTERM');

    const notReadyAt = await readyzTurns(server.port, 503, t0, kGrace);
    assert.ok(notReadyAt < kGrace - 100, `/readyz turned 503 after ${notReadyAt} ms`);
    assert.equal((await request(server.port, { path: '/healthz' })).status, 200, 'still alive while draining');
    const late = await connect(baseUrl(server.port), { transports: ['websocket'] });
    late.close();
    for (const c of clients) assert.equal(c.socket.connected, true, `${c.transport} client kept during the grace period`);

    const windowMs = kDeadline + 1000;
    for (const c of clients) {
      const { reason, at } = await withTimeout(c.disconnected, windowMs, `${c.transport} client disconnect`);
      const after = at - t0;
      assert.ok(after >= kGrace - 50, `${c.transport} client disconnected after ${after} ms, grace is ${kGrace}`);
      assert.ok(after <= kDeadline, `${c.transport} client disconnected after ${after} ms`);
      assert.equal(reason, 'transport close', `${c.transport} client disconnect reason`);
    }
    const rawClosed = await raw.waitClosed(windowMs);
    assert.ok(rawClosed.at - t0 >= kGrace - 50, `raw WebSocket closed after ${rawClosed.at - t0} ms`);
    for (const c of clients) {
      assert.equal(await c.reconnectAttempt, true, `${c.transport} client tries to reconnect`);
    }

    const exit = await withTimeout(server.exited, windowMs, 'roomcastd exit');
    const exitedAt = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(exitedAt <= kDeadline + 500, `exited after ${exitedAt} ms, deadline ${kDeadline}`);
    assert.equal(await reachable(server.port, '127.0.0.1'), false, 'no longer accepting');
  });

  it('SIGINT exits 0 too', async (t) => {
    const server = await startRoomcastd(['--drain_grace_ms=100', '--drain_deadline_ms=2000']);
    t.after(() => stopServer(server));
    const socket = await connect(baseUrl(server.port));
    t.after(() => socket.close());
    const t0 = Date.now();
    server.child.kill('SIGINT');
    const exit = await withTimeout(server.exited, 3500, 'roomcastd exit after SIGINT');
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - t0 <= 2500, `exited after ${Date.now() - t0} ms`);
  });

  it('SIGTERM on an idle server exits 0', async () => {
    const server = await startRoomcastd(['--drain_grace_ms=0', '--drain_deadline_ms=1000']);
    const exit = await stopServer(server, { signal: 'SIGTERM', timeoutMs: 3000 });
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});

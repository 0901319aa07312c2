// INTERNAL_API_KEY: every control route (HTTP shim, seed routes included, and
// gRPC) needs `authorization: Bearer <key>` or `x-api-key: <key>`, else 401 /
// UNAUTHENTICATED (code 16); /api/health, /healthz, /readyz, /metrics and
// grpc.health.v1 stay open. NODE_ENV=production without a key refuses to
// start unless --insecure.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, api, assertRpcError, okJson, show, startControl, useControlServer } from '../support/control.js';
import { runToExit, stopServer } from '../support/fixtures.js';
import { HealthClient, Reflection, grpcError, grpcTarget } from '../support/grpc.js';
import { request } from '../support/raw.js';
import { waitFor } from '../support/sio.js';

const kKey = 'test-internal-key-7f3a9c';
const fx = useControlServer([], { env: { INTERNAL_API_KEY: kKey } });

// Every control route with a valid request body (or query).
const kControlRoutes = [
  ['POST', '/api/socket/emit', { room: 'auth-room', event: 'e', data: 1 }],
  ['POST', '/v1/emit', { room: 'auth-room', event: 'e', data: 1 }],
  ['POST', '/v1/emit:batch', { emits: [{ room: 'auth-room', event: 'e', data: 1 }] }],
  ['GET', '/api/socket/status'],
  ['GET', '/v1/status'],
  ['POST', '/api/socket/status', { testRoom: 'auth-room', testEvent: 't', testData: 1 }],
  ['POST', '/v1/rooms:join', { sockets: { room: 'auth-room' }, rooms: ['x'] }],
  ['POST', '/v1/rooms:leave', { sockets: { room: 'auth-room' }, rooms: ['x'] }],
  ['POST', '/v1/sockets:disconnect', { sockets: { socketId: 'nobody' } }],
  ['GET', '/v1/rooms/sockets?namespace=/&room=auth-room'],
];

const kOpenPaths = ['/api/health', '/healthz', '/readyz', '/metrics'];

describe('HTTP shim with INTERNAL_API_KEY set', () => {
  for (const [method, path, body] of kControlRoutes) {
    describe(`${method} ${path}`, () => {
      it('no key → 401 UNAUTHENTICATED', async () => {
        assertRpcError(await api(fx.port, method, path, body), 401, { code: Code.UNAUTHENTICATED });
      });

      it('a wrong key → 401 (Bearer and x-api-key)', async () => {
        for (const headers of [
          { authorization: 'Bearer wrong-key' },
          { authorization: `Bearer ${kKey}x` },
          { authorization: `Bearer ${kKey.slice(0, -1)}` },
          { 'x-api-key': 'wrong-key' },
          { 'x-api-key': '' },
          { authorization: kKey },
          { authorization: `Basic ${kKey}` },
        ]) {
          assertRpcError(await api(fx.port, method, path, body, { headers }), 401, { code: Code.UNAUTHENTICATED });
        }
      });

      it('the key as "authorization: Bearer <key>" or "x-api-key: <key>" → 200', async () => {
        for (const headers of [{ authorization: `Bearer ${kKey}` }, { 'x-api-key': kKey }]) {
          const res = await api(fx.port, method, path, body, { headers });
          assert.equal(res.status, 200, `${JSON.stringify(headers)}: ${show(res)}`);
        }
      });
    });
  }

  it('a rejected emit is not delivered', async (t) => {
    const s = await fx.connect({ transports: ['websocket'], auth: { rooms: ['guarded'] } });
    t.after(() => s.close());
    const seen = [];
    s.on('guarded', (d) => seen.push(d));
    assertRpcError(await api(fx.port, 'POST', '/api/socket/emit', { room: 'guarded', event: 'guarded', data: 'no' }), 401);
    const got = waitFor(s, 'guarded');
    okJson(await api(fx.port, 'POST', '/api/socket/emit', { room: 'guarded', event: 'guarded', data: 'yes' }, { headers: { 'x-api-key': kKey } }));
    assert.equal(await got, 'yes');
    assert.deepEqual(seen, ['yes']);
  });

  it('unauthenticated requests are refused before the body is looked at', async () => {
    // A malformed body without a key is a 401, not a 400: no parse errors leak to anonymous callers.
    assertRpcError(await api(fx.port, 'POST', '/v1/emit', '{"broken":'), 401, { code: Code.UNAUTHENTICATED });
  });

  for (const path of kOpenPaths) {
    it(`${path} stays open`, async () => {
      const res = await request(fx.port, { path });
      assert.equal(res.status, 200, `${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    });
  }

  it('never echoes the key back', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
      const res = await api(fx.port, 'GET', '/api/socket/status', undefined, { headers });
      assert.ok(!res.body.includes(kKey));
    }
    assert.ok(!fx.server.output().includes(kKey), 'the key is not logged');
  });
});

describe('gRPC with INTERNAL_API_KEY set', () => {
  const g = {};
  before(async () => {
    await fx.ready;
    // Reflection with the key, so this works whether or not reflection is guarded.
    g.reflection = new Reflection(grpcTarget(fx.grpcPort), { headers: { authorization: `Bearer ${kKey}` } });
    g.roomcast = await g.reflection.service('roomcast.v1.Roomcast');
    g.health = new HealthClient(grpcTarget(fx.grpcPort));
  });
  after(() => {
    g.roomcast?.close();
    g.reflection?.close();
    g.health?.close();
  });

  const emit = { room: 'nobody', event: 'e', data: 1 };

  it('Emit without metadata → UNAUTHENTICATED', async () => {
    const err = await grpcError(g.roomcast.call('Emit', emit));
    assert.equal(err.code, Code.UNAUTHENTICATED, err.message);
  });

  it('a wrong key → UNAUTHENTICATED', async () => {
    for (const headers of [{ authorization: 'Bearer nope' }, { 'x-api-key': 'nope' }, { authorization: kKey }]) {
      const err = await grpcError(g.roomcast.call('Emit', emit, { headers }));
      assert.equal(err.code, Code.UNAUTHENTICATED, `${JSON.stringify(headers)}: ${err.message}`);
    }
  });

  it('every Roomcast method is guarded', async () => {
    for (const [method, req] of [
      ['EmitBatch', { emits: [emit] }],
      ['Status', {}],
      ['SendTestEvent', { testRoom: 'nobody', testEvent: 't' }],
      ['JoinRooms', { sockets: { room: 'nobody' }, rooms: ['x'] }],
      ['LeaveRooms', { sockets: { room: 'nobody' }, rooms: ['x'] }],
      ['DisconnectSockets', { sockets: { socketId: 'nobody' } }],
      ['ListRoomSockets', { room: 'nobody' }],
    ]) {
      const err = await grpcError(g.roomcast.call(method, req));
      assert.equal(err.code, Code.UNAUTHENTICATED, `${method}: ${err.message}`);
      await g.roomcast.call(method, req, { headers: { 'x-api-key': kKey } });
    }
  });

  it('the key in metadata, as Bearer or x-api-key → OK', async () => {
    for (const headers of [{ authorization: `Bearer ${kKey}` }, { 'x-api-key': kKey }]) {
      const res = await g.roomcast.call('Emit', emit, { headers });
      assert.equal(res.recipients, '0');
    }
  });

  it('grpc.health.v1 stays open', async () => {
    assert.equal(await g.health.check(''), 'SERVING');
    assert.equal(await g.health.check('roomcast.v1.Roomcast'), 'SERVING');
  });
});

describe('--internal_api_key flag', () => {
  it('guards the routes like the environment variable', async (t) => {
    const server = await startControl(['--internal_api_key=flag-key']);
    t.after(() => stopServer(server));
    assertRpcError(await api(server.port, 'GET', '/api/socket/status'), 401, { code: Code.UNAUTHENTICATED });
    assertRpcError(await api(server.port, 'GET', '/api/socket/status', undefined, { headers: { 'x-api-key': kKey } }), 401);
    okJson(await api(server.port, 'GET', '/api/socket/status', undefined, { headers: { authorization: 'Bearer flag-key' } }));
    assert.equal((await request(server.port, { path: '/api/health' })).status, 200);
  });

  it('without any key every route is open', async (t) => {
    const server = await startControl([], { env: { INTERNAL_API_KEY: '' } });
    t.after(() => stopServer(server));
    okJson(await api(server.port, 'GET', '/api/socket/status'));
    okJson(await api(server.port, 'POST', '/v1/emit', { room: 'r', event: 'e', data: 1 }));
  });
});

describe('NODE_ENV=production', () => {
  const kArgs = ['--port=0', '--grpc_port=0'];

  it('without INTERNAL_API_KEY: exits non-zero naming INTERNAL_API_KEY', async () => {
    const run = await runToExit(kArgs, { env: { NODE_ENV: 'production', INTERNAL_API_KEY: '' } });
    assert.equal(run.timedOut, false, `exits on its own:\n${run.stdout}${run.stderr}`);
    assert.notEqual(run.code, 0, `exit code ${run.code}`);
    assert.doesNotMatch(run.stdout + run.stderr, /listening/);
    assert.match(run.stderr, /INTERNAL_API_KEY/);
  });

  it('--node_env=production works the same', async () => {
    const run = await runToExit([...kArgs, '--node_env=production'], { env: { INTERNAL_API_KEY: '' } });
    assert.equal(run.timedOut, false);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /INTERNAL_API_KEY/);
  });

  it('--insecure allows it', async (t) => {
    const server = await startControl(['--insecure'], { env: { NODE_ENV: 'production', INTERNAL_API_KEY: '' } });
    t.after(() => stopServer(server));
    okJson(await api(server.port, 'GET', '/api/socket/status'));
  });

  it('with a key it starts, and the key is required', async (t) => {
    // Production also needs browser authentication (or --insecure).
    const server = await startControl([], { env: { NODE_ENV: 'production', INTERNAL_API_KEY: kKey, JWT_SECRET: 'browser-secret' } });
    t.after(() => stopServer(server));
    assertRpcError(await api(server.port, 'GET', '/api/socket/status'), 401, { code: Code.UNAUTHENTICATED });
    okJson(await api(server.port, 'GET', '/api/socket/status', undefined, { headers: { 'x-api-key': kKey } }));
  });
});

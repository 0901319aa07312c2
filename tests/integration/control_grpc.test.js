// grpcurl-style checks of the gRPC control plane through server reflection
// (v1alpha): list, describe, call Emit with a JSON-built request (the
// descriptor comes from reflection, not from protos/), grpc.health.v1 Check,
// dual-stack listening, GRPC_PORT.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, collect, collected, emitHttp, startControl, useControlServer } from '../support/control.js';
import { freePort, runToExit, stopServer } from '../support/fixtures.js';
import { startRoomcastd } from '../support/process.js';
import { HealthClient, Reflection, grpcError, grpcTarget } from '../support/grpc.js';
import { expectNoEvent, waitFor, waitForArgs } from '../support/sio.js';

const fx = useControlServer(['--namespaces=/,/admin']);
const g = {};

before(async () => {
  await fx.ready;
  g.reflection = new Reflection(grpcTarget(fx.grpcPort));
  g.roomcast = await g.reflection.service('roomcast.v1.Roomcast');
  g.health = new HealthClient(grpcTarget(fx.grpcPort));
});

after(() => {
  g.roomcast?.close();
  g.reflection?.close();
  g.health?.close();
});

async function client(t, rooms = [], { nsp } = {}) {
  const socket = await fx.connect({ transports: ['websocket'], ...(rooms.length ? { auth: { rooms } } : {}) }, { nsp });
  t.after(() => socket.close());
  return socket;
}

describe('reflection (grpcurl list / describe)', () => {
  it('lists Roomcast, grpc.health.v1.Health and the reflection service', async () => {
    const services = await g.reflection.listServices();
    for (const name of ['roomcast.v1.Roomcast', 'grpc.health.v1.Health', 'grpc.reflection.v1alpha.ServerReflection']) {
      assert.ok(services.includes(name), `${name} in ${JSON.stringify(services)}`);
    }
  });

  it('describes roomcast.v1.Roomcast with every method', async () => {
    assert.deepEqual(g.roomcast.methodNames.sort(), [
      'AckClientEvent', 'DisconnectSockets', 'Emit', 'EmitBatch', 'EmitWithAck', 'Health', 'History', 'JoinRooms', 'LeaveRooms',
      'ListRoomSockets', 'ReceiveClientEvents', 'SendTestEvent', 'Status',
    ]);
    const stream = g.roomcast.service.methods.ReceiveClientEvents;
    assert.equal(stream.responseStream, true, 'ReceiveClientEvents is a server stream');
    assert.ok(!stream.requestStream);
    const emit = g.roomcast.service.methods.Emit;
    assert.equal(emit.resolvedRequestType.fullName, '.roomcast.v1.EmitRequest');
    assert.equal(emit.resolvedResponseType.fullName, '.roomcast.v1.EmitResponse');
    const fields = emit.resolvedRequestType.fieldsArray.map((f) => f.name);
    for (const f of ['namespace', 'room', 'rooms', 'event', 'data', 'volatile']) assert.ok(fields.includes(f), `${f} in ${fields}`);
    // The well-known types come through reflection too.
    assert.equal(emit.resolvedRequestType.fields.data.resolvedType.fullName, '.google.protobuf.Value');
  });

  it('describes a message symbol (roomcast.v1.EmitRequest)', async () => {
    const descriptor = await g.reflection.descriptorBySymbol('roomcast.v1.EmitRequest');
    const type = descriptor.getProtobufJsRoot().lookupType('roomcast.v1.EmitRequest');
    assert.ok(type.oneofs.payload, 'the data / data_json oneof');
  });

  it('an unknown symbol is an error, not a hang', async () => {
    await assert.rejects(g.reflection.descriptorBySymbol('roomcast.v1.NoSuchThing'));
  });
});

describe('Emit over gRPC', () => {
  it('a JSON-built request reaches the socket.io client in the room', async (t) => {
    const s = await client(t, ['grpc-room']);
    const outside = await client(t, ['elsewhere']);
    const data = { text: 'from gRPC ✓', n: 3.25, list: [1, null, true, 'x'], nested: { deep: { deeper: [] } }, nothing: null };
    const got = waitForArgs(s, 'grpc.event');
    const none = expectNoEvent(outside, 'grpc.event', 400);
    const res = await g.roomcast.call('Emit', JSON.parse(JSON.stringify({ room: 'grpc-room', event: 'grpc.event', data })));
    assert.equal(res.recipients, '1');
    assert.match(res.offset, /^\d+$/);
    assert.equal(res.duplicate, false);
    assert.deepEqual(await got, [data]);
    await none;
  });

  it('data_json (pre-serialized JSON bytes) is sent as is', async (t) => {
    const s = await client(t, ['raw-room']);
    const json = '{"pre":"serialized","n":[1,2.5,-3],"u":"日本","z":null}';
    const got = waitForArgs(s, 'raw');
    const res = await g.roomcast.call('Emit', { room: 'raw-room', event: 'raw', dataJson: Buffer.from(json).toString('base64') });
    assert.equal(res.recipients, '1');
    assert.deepEqual(await got, [JSON.parse(json)]);
  });

  it('invalid data_json is INVALID_ARGUMENT', async () => {
    const err = await grpcError(g.roomcast.call('Emit', { room: 'r', event: 'e', dataJson: Buffer.from('{"unterminated":').toString('base64') }));
    assert.equal(err.code, Code.INVALID_ARGUMENT, err.message);
  });

  it('a missing event name is INVALID_ARGUMENT', async () => {
    const err = await grpcError(g.roomcast.call('Emit', { room: 'r', data: 1 }));
    assert.equal(err.code, Code.INVALID_ARGUMENT, err.message);
    assert.match(err.details, /event/i);
  });

  it('a namespace that is not configured is INVALID_ARGUMENT naming it, on every method', async () => {
    const calls = {
      Emit: { namespace: '/../../etc', room: 'a', event: 'e', data: 1 },
      JoinRooms: { sockets: { namespace: '/nope', room: 'a' }, rooms: ['b'] },
      LeaveRooms: { sockets: { namespace: '/nope', room: 'a' }, rooms: ['b'] },
      DisconnectSockets: { sockets: { namespace: '/nope', room: 'a' } },
      ListRoomSockets: { namespace: '/nope', room: 'a' },
    };
    for (const [method, request] of Object.entries(calls)) {
      const err = await grpcError(g.roomcast.call(method, request));
      assert.equal(err.code, Code.INVALID_ARGUMENT, `${method}: ${err.message}`);
      assert.match(err.details, /namespace "\/(\.\.\/\.\.\/etc|nope)" is not configured/, method);
    }
    const batch = await g.roomcast.call('EmitBatch', {
      emits: [{ namespace: '/nope', room: 'a', event: 'e', data: 1 }, { namespace: '/admin', room: 'a', event: 'e', data: 1 }],
    });
    assert.equal(batch.results[0].error.code, 'INVALID_ARGUMENT');
    assert.match(batch.results[0].error.message, /namespace "\/nope" is not configured/);
    assert.ok(batch.results[1].emitted, 'the configured namespace still emits');
  });

  it('rooms, exceptRooms, namespace-wide and volatile', async (t) => {
    const a = await client(t, ['g-a']);
    const ab = await client(t, ['g-a', 'g-skip']);
    const b = await client(t, ['g-b']);
    const seen = [a, ab, b].map((s) => collect(s, 'sel'));
    const r1 = await g.roomcast.call('Emit', { rooms: ['g-a', 'g-b'], exceptRooms: ['g-skip'], event: 'sel', data: 1, volatile: true });
    assert.equal(r1.recipients, '2');
    await collected(seen[0], 1);
    assert.deepEqual(seen, [[1], [], [1]]);

    const admin = await client(t, [], { nsp: '/admin' });
    const got = waitFor(admin, 'ns-wide');
    const notMain = expectNoEvent(a, 'ns-wide', 400);
    const r2 = await g.roomcast.call('Emit', { namespace: '/admin', event: 'ns-wide', data: 'all' });
    assert.equal(r2.recipients, '1');
    assert.equal(await got, 'all');
    await notMain;
  });

  it('idempotency keys are shared with the HTTP shim', async (t) => {
    const s = await client(t, ['g-idem']);
    const seen = collect(s, 'once');
    const first = await g.roomcast.call('Emit', { room: 'g-idem', event: 'once', data: 1, idempotencyKey: 'grpc-key' });
    assert.equal(first.duplicate, false);
    const second = await g.roomcast.call('Emit', { room: 'g-idem', event: 'once', data: 1, idempotencyKey: 'grpc-key' });
    assert.deepEqual(second, { ...first, duplicate: true });
    const viaHttp = await emitHttp(fx.port, { room: 'g-idem', event: 'once', data: 1, idempotencyKey: 'grpc-key' }, { duplicate: true });
    assert.equal(String(viaHttp.offset), first.offset);
    await collected(seen, 1, { settleMs: 400 });
    assert.deepEqual(seen, [1]);
  });

  it('EmitBatch keeps order and reports per-item errors', async (t) => {
    const s = await client(t, ['g-batch']);
    const seen = collect(s, 'seq');
    const res = await g.roomcast.call('EmitBatch', {
      emits: [
        { room: 'g-batch', event: 'seq', data: 'a' },
        { room: 'g-batch', event: '', data: 'bad' },
        { room: 'g-batch', event: 'seq', data: 'b' },
        { room: 'g-batch', event: 'seq', data: 'c' },
      ],
    });
    assert.equal(res.results.length, 4);
    assert.deepEqual(res.results.map((r) => r.result), ['emitted', 'error', 'emitted', 'emitted']);
    assert.equal(res.results[1].error.code, 'INVALID_ARGUMENT');
    const offsets = [0, 2, 3].map((i) => BigInt(res.results[i].emitted.offset));
    assert.ok(offsets[0] < offsets[1] && offsets[1] < offsets[2], `offsets ${offsets}`);
    await collected(seen, 3);
    assert.deepEqual(seen, ['a', 'b', 'c']);
  });

  it('Status, SendTestEvent and room management answer over gRPC too', async (t) => {
    const s = await client(t, ['g-mgmt']);
    const status = await g.roomcast.call('Status', {});
    assert.match(status.connections, /^\d+$/);
    assert.ok(Number(status.counters.emits_by_transport?.grpc ?? status.counters.emitsByTransport?.grpc) >= 1, JSON.stringify(status.counters));

    const got = waitFor(s, 'diag');
    const test = await g.roomcast.call('SendTestEvent', { testRoom: 'g-mgmt', testEvent: 'diag', testData: { ok: 1 } });
    assert.equal(test.success, true);
    assert.equal(test.recipients, '1');
    assert.deepEqual(await got, { ok: 1 });

    const joined = await g.roomcast.call('JoinRooms', { sockets: { socketId: s.id }, rooms: ['g-joined'] });
    assert.equal(joined.sockets, '1');
    const list = await g.roomcast.call('ListRoomSockets', { namespace: '/', room: 'g-joined' });
    assert.deepEqual(list.sockets.map((x) => x.id), [s.id]);
    const left = await g.roomcast.call('LeaveRooms', { sockets: { room: 'g-joined' }, rooms: ['g-joined'] });
    assert.equal(left.sockets, '1');
    const reason = waitFor(s, 'disconnect');
    const dropped = await g.roomcast.call('DisconnectSockets', { sockets: { socketId: s.id } });
    assert.equal(dropped.sockets, '1');
    assert.equal(await reason, 'io server disconnect');
  });
});

describe('grpc.health.v1', () => {
  it('Check("") and Check("roomcast.v1.Roomcast") are SERVING', async () => {
    assert.equal(await g.health.check(''), 'SERVING');
    assert.equal(await g.health.check('roomcast.v1.Roomcast'), 'SERVING');
  });

  it('an unknown service is NOT_FOUND', async () => {
    const err = await grpcError(g.health.check('no.such.Service'));
    assert.equal(err.code, Code.NOT_FOUND, err.message);
  });
});

describe('listening', () => {
  it('dual-stack: reachable at 127.0.0.1 and [::1]', async (t) => {
    for (const host of ['127.0.0.1', '::1']) {
      const health = new HealthClient(grpcTarget(fx.grpcPort, host));
      t.after(() => health.close());
      assert.equal(await health.check(''), 'SERVING', host);
      const reflection = new Reflection(grpcTarget(fx.grpcPort, host));
      t.after(() => reflection.close());
      const roomcast = await reflection.service('roomcast.v1.Roomcast');
      t.after(() => roomcast.close());
      const res = await roomcast.call('Emit', { room: 'nobody', event: 'ping', data: host });
      assert.equal(res.recipients, '0', host);
    }
  });

  it('GRPC_PORT picks the port; --grpc_port wins over it', async (t) => {
    const envPort = await freePort();
    const fromEnv = await startRoomcastd([], { env: { GRPC_PORT: String(envPort) } });
    t.after(() => stopServer(fromEnv));
    assert.equal(fromEnv.grpcPort, envPort, fromEnv.output());
    const health = new HealthClient(grpcTarget(envPort));
    t.after(() => health.close());
    assert.equal(await health.check(''), 'SERVING');

    const flagPort = await freePort();
    const fromFlag = await startRoomcastd([`--grpc_port=${flagPort}`], { env: { GRPC_PORT: String(await freePort()) } });
    t.after(() => stopServer(fromFlag));
    assert.equal(fromFlag.grpcPort, flagPort, fromFlag.output());
  });

  it('a busy gRPC port stops startup with an error naming it (as a busy HTTP port does)', async () => {
    // gRPC enables SO_REUSEPORT by default: without turning it off a second
    // roomcastd would silently share the port and take half the calls.
    const run = await runToExit(['--port=0', `--grpc_port=${fx.grpcPort}`], { timeoutMs: 5000 });
    assert.equal(run.timedOut, false, `exits on its own instead of serving on a shared port:\n${run.stdout}${run.stderr}`);
    assert.notEqual(run.code, 0, `exit code ${run.code}`);
    assert.match(run.stderr, new RegExp(String(fx.grpcPort)), run.stderr);
    assert.equal(await g.health.check(''), 'SERVING', 'the first server still serves');
  });

  it('--grpc_port=0 picks a free port, different per server', async (t) => {
    const other = await startControl();
    t.after(() => stopServer(other));
    assert.ok(other.grpcPort > 0);
    assert.notEqual(other.grpcPort, fx.grpcPort);
  });
});

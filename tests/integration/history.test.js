// History (GET /v1/history and gRPC roomcast.v1.Roomcast/History) over the
// memory log (the default without Redis) and the Redis log (the default with
// REDIS_URL): every event an emit was answered for, with the offset and
// epoch that answer gave, oldest first (or newest first with reverse), by
// room, after an offset, 1 to 1000 at a time (100 by default), bounded by
// --event_log_size; volatile events are not logged and take no offset.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, api, assertRpcError, collect, collected, okJson, pollUntil, show, startControl } from '../support/control.js';
import { runToExit, stopServer } from '../support/fixtures.js';
import { Reflection, grpcError, grpcTarget } from '../support/grpc.js';
import {
  consecutive, emitLogged, grpcEmitResult, historyAll, historyGrpc, historyHttp, historyRaw, mapLimit, offsetsOf,
} from '../support/history.js';
import { redisAvailable, startRedis } from '../support/redis.js';
import { baseUrl, closeAll, connect } from '../support/sio.js';

// Each test has its own namespace, so its offsets are its own.
const kNamespaces = ['/', '/shape', '/after', '/rooms', '/reverse', '/limits', '/volatile', '/idem', '/batch', '/grpc', '/grpcbad', '/empty'];
const kLogSize = 150;

/** A roomcastd (plus Redis for the redis log) with a gRPC client; filled in before(). */
function useLogServer({ redis }) {
  const ctx = { sockets: [] };
  before(async () => {
    if (redis) ctx.redis = await startRedis();
    const flags = [`--namespaces=${kNamespaces.join(',')}`, `--event_log_size=${kLogSize}`];
    if (redis) flags.push(`--redis_url=${ctx.redis.url}`, '--cluster_heartbeat_ms=300');
    ctx.server = await startControl(flags);
    ctx.port = ctx.server.port;
    ctx.reflection = new Reflection(grpcTarget(ctx.server.grpcPort));
    ctx.roomcast = await ctx.reflection.service('roomcast.v1.Roomcast');
  });
  after(async () => {
    closeAll(ctx.sockets);
    ctx.roomcast?.close();
    ctx.reflection?.close();
    await stopServer(ctx.server);
    for (const node of ctx.others ?? []) await stopServer(node);
    await ctx.redis?.stop();
  });
  ctx.connect = async (rooms, nsp = '') => {
    const socket = await connect(baseUrl(ctx.port) + nsp, { transports: ['websocket'], auth: { rooms } });
    ctx.sockets.push(socket);
    return socket;
  };
  return ctx;
}

/** The fields of a normalized event that an emit request determines. */
const what = (e) => ({ offset: String(e.offset), event: e.event, data: e.data, args: e.args, rooms: [...e.rooms].sort(), exceptRooms: [...e.exceptRooms].sort() });

function historySuite(name, { redis = false } = {}) {
  const skip = redis && !redisAvailable() ? 'redis-server is not installed' : false;
  describe(`History over the ${name} log`, { skip }, () => {
    const ctx = useLogServer({ redis });
    const hist = (query) => historyHttp(ctx.port, query);

    it('emits answer consecutive offsets in one epoch; History gives each back, oldest first, with every field', async () => {
      const nsp = '/shape';
      const socket = await ctx.connect(['r1'], nsp);
      const seen = collect(socket, 'shape.one');
      const requests = [
        { namespace: nsp, room: 'r1', event: 'shape.one', data: { id: 1, text: 'héllo ✓', list: [1, null, true], nested: { deep: {} } } },
        { namespace: nsp, rooms: ['r1', 'r2'], exceptRooms: ['muted'], event: 'shape.two', data: 'two' },
        { namespace: nsp, event: 'shape.all', data: [1, 2.5, -3] },
        { namespace: nsp, room: 'r2', event: 'shape.null', data: null },
      ];
      const t0 = Date.now();
      const answers = [];
      for (const request of requests) answers.push(await emitLogged(ctx.port, request));
      const t1 = Date.now();
      assert.equal(answers[0].recipients, 1n, 'the socket in r1 got the first');
      for (let i = 1; i < answers.length; ++i) {
        assert.equal(answers[i].offset, answers[i - 1].offset + 1n, `consecutive offsets: ${answers.map((a) => a.offset)}`);
        assert.equal(answers[i].epoch, answers[0].epoch, 'one epoch');
      }
      assert.deepEqual(await collected(seen, 1), [requests[0].data], 'delivered as logged');

      const events = await hist({ namespace: nsp });
      assert.deepEqual(offsetsOf(events), answers.map((a) => String(a.offset)), 'every emit, oldest first');
      assert.deepEqual(events.map(what), requests.map((r, i) => ({
        offset: String(answers[i].offset),
        event: r.event,
        data: r.data,
        args: [r.data],
        rooms: [...(r.room ? [r.room] : []), ...(r.rooms ?? [])].sort(),
        exceptRooms: [...(r.exceptRooms ?? [])].sort(),
      })));
      for (const e of events) {
        assert.equal(e.epoch, answers[0].epoch, 'the epoch the emit answered');
        assert.ok(e.timeMs >= t0 - 2000 && e.timeMs <= t1 + 2000, `time ${new Date(e.timeMs).toISOString()} within the emits' ${new Date(t0).toISOString()}..${new Date(t1).toISOString()}`);
      }
      for (let i = 1; i < events.length; ++i) assert.ok(events[i].timeMs >= events[i - 1].timeMs, 'times do not go back');

      // The raw JSON: offsets are decimal strings; the time is RFC 3339.
      const raw = okJson(await historyRaw(ctx.port, { namespace: nsp, limit: 1 }));
      assert.equal(raw.events.length, 1, JSON.stringify(raw));
      assert.equal(raw.events[0].offset, String(answers[0].offset));
      assert.match(raw.events[0].time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    });

    it('an empty namespace field means "/"; a namespace with nothing logged answers no events', async () => {
      const a = await emitLogged(ctx.port, { room: 'root-room', event: 'root.e', data: 1 });
      const implicit = await hist({});
      const explicit = await hist({ namespace: '/' });
      assert.deepEqual(offsetsOf(implicit), [String(a.offset)]);
      assert.deepEqual(explicit.map(what), implicit.map(what));
      const res = await historyRaw(ctx.port, { namespace: '/empty' });
      assert.deepEqual(okJson(res), { events: [] }, show(res));
    });

    it('afterOffset: only the events after it', async () => {
      const nsp = '/after';
      const answers = [];
      for (let i = 0; i < 5; ++i) answers.push(await emitLogged(ctx.port, { namespace: nsp, room: 'a', event: 'after', data: i }));
      const offsets = answers.map((a) => String(a.offset));
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, afterOffset: 0 })), offsets, 'afterOffset=0: from the oldest');
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, afterOffset: offsets[1] })), offsets.slice(2));
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, afterOffset: offsets[3], room: 'a' })), offsets.slice(4));
      assert.deepEqual(await hist({ namespace: nsp, afterOffset: offsets[4] }), [], 'nothing after the newest');
      assert.deepEqual(await hist({ namespace: nsp, afterOffset: String(answers[4].offset + 1000n) }), [], 'nothing after a future offset');
      assert.deepEqual((await hist({ namespace: nsp, afterOffset: offsets[0], limit: 2 })).map((e) => e.data), [1, 2]);
    });

    it('room: the events that targeted it, namespace-wide ones included', async () => {
      const nsp = '/rooms';
      const emits = {
        toX: { namespace: nsp, room: 'x', event: 'rx', data: 'x only' },
        toY: { namespace: nsp, room: 'y', event: 'ry', data: 'y only' },
        toXY: { namespace: nsp, rooms: ['x', 'y'], event: 'rxy', data: 'x and y' },
        all: { namespace: nsp, event: 'rall', data: 'everyone' },
        xNotY: { namespace: nsp, rooms: ['x'], exceptRooms: ['y'], event: 'rx-y', data: 'x but not y' },
        roomAndRooms: { namespace: nsp, room: 'z', rooms: ['w'], event: 'rzw', data: 'z and w' },
      };
      const offset = {};
      for (const [key, request] of Object.entries(emits)) offset[key] = String((await emitLogged(ctx.port, request)).offset);
      const inRoom = async (room) => offsetsOf(await hist({ namespace: nsp, room }));
      const expect = (...keys) => keys.map((k) => offset[k]);
      assert.deepEqual(await inRoom('x'), expect('toX', 'toXY', 'all', 'xNotY'));
      assert.deepEqual(await inRoom('y'), expect('toY', 'toXY', 'all'));
      assert.deepEqual(await inRoom('z'), expect('all', 'roomAndRooms'));
      assert.deepEqual(await inRoom('w'), expect('all', 'roomAndRooms'));
      assert.deepEqual(await inRoom('nobody-here'), expect('all'), 'a room nothing was sent to: the namespace-wide event');
      assert.deepEqual(await inRoom(''), Object.values(offset), 'no room: everything');
      const xy = (await hist({ namespace: nsp, room: 'y' })).find((e) => e.event === 'rxy');
      assert.deepEqual([...xy.rooms].sort(), ['x', 'y'], 'an event lists every room it targeted');
      const wide = (await hist({ namespace: nsp, room: 'x' })).find((e) => e.event === 'rall');
      assert.deepEqual(wide.rooms, [], 'a namespace-wide event lists no rooms');
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, room: 'x', reverse: true, limit: 2 })), expect('xNotY', 'all'));
    });

    it('reverse: newest first, still above afterOffset and within limit', async () => {
      const nsp = '/reverse';
      const offsets = [];
      for (let i = 0; i < 6; ++i) offsets.push(String((await emitLogged(ctx.port, { namespace: nsp, event: 'rev', data: i })).offset));
      const newestFirst = [...offsets].reverse();
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, reverse: true })), newestFirst);
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, reverse: false })), offsets);
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, reverse: true, limit: 2 })), newestFirst.slice(0, 2), 'the newest two');
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, limit: 2 })), offsets.slice(0, 2), 'the oldest two');
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, reverse: true, afterOffset: offsets[2] })), newestFirst.slice(0, 3));
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, reverse: true, afterOffset: offsets[2], limit: 1 })), [offsets[5]]);
      assert.deepEqual((await hist({ namespace: nsp, reverse: true })).map((e) => e.data), [5, 4, 3, 2, 1, 0]);
    });

    it(`limit: 100 by default, 1 to 1000; the log keeps the newest --event_log_size=${kLogSize}`, async () => {
      const nsp = '/limits';
      const n = kLogSize + 10;
      const answers = await mapLimit(Array.from({ length: n }, (_, i) => i), 4,
        (i) => emitLogged(ctx.port, { namespace: nsp, room: `l${i % 3}`, event: 'lim', data: { i } }));
      const offsets = answers.map((a) => a.offset).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const first = offsets[0];
      assert.deepEqual(offsets.map(String), consecutive(first, n), 'distinct, consecutive offsets');
      const kept = consecutive(first + BigInt(n - kLogSize), kLogSize);
      // Trimming may run in the background: wait for it, bounded.
      const all = await pollUntil(async () => {
        const events = await hist({ namespace: nsp, limit: 1000 });
        return events.length <= kLogSize ? events : null;
      }, { timeoutMs: 15000, intervalMs: 250, what: `at most ${kLogSize} events kept` });
      assert.deepEqual(offsetsOf(all), kept, 'the newest ones, oldest first');
      const byOffset = new Map(answers.map((a, i) => [String(a.offset), i]));
      for (const e of all) assert.deepEqual(e.data, { i: byOffset.get(String(e.offset)) }, 'each offset holds its emit');
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp })), kept.slice(0, 100), 'no limit: 100');
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, limit: 0 })), kept.slice(0, 100), 'limit 0: 100');
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, limit: 1 })), kept.slice(0, 1));
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, limit: 101 })), kept.slice(0, 101));
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, reverse: true })), [...kept].reverse().slice(0, 100));
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp, limit: 1000, room: 'l1' })),
        kept.filter((o) => byOffset.get(o) % 3 === 1), 'room and limit');
      const next = await emitLogged(ctx.port, { namespace: nsp, event: 'lim', data: 'next' });
      assert.equal(next.offset, first + BigInt(n), 'trimming never reuses an offset');
    });

    it('volatile events are not logged and take no offset', async () => {
      const nsp = '/volatile';
      const socket = await ctx.connect(['v'], nsp);
      const seen = collect(socket, 'vol');
      const a = await emitLogged(ctx.port, { namespace: nsp, room: 'v', event: 'vol', data: 'a' });
      const v = await emitLogged(ctx.port, { namespace: nsp, room: 'v', event: 'vol', data: 'volatile', volatile: true });
      assert.equal(v.recipients, 1n, 'a volatile event is still delivered');
      const b = await emitLogged(ctx.port, { namespace: nsp, room: 'v', event: 'vol', data: 'b' });
      assert.equal(b.offset, a.offset + 1n, 'the volatile event took no offset');
      assert.deepEqual(await collected(seen, 3), ['a', 'volatile', 'b']);
      assert.deepEqual((await hist({ namespace: nsp })).map((e) => e.data), ['a', 'b']);
      const g = grpcEmitResult(await ctx.roomcast.call('Emit', { namespace: nsp, event: 'vol', data: 'grpc volatile', volatile: true }), { volatile: true });
      assert.equal(g.offset, 0n);
      assert.deepEqual((await hist({ namespace: nsp })).map((e) => e.data), ['a', 'b']);
    });

    it('a repeated idempotencyKey answers the first offset and is logged once', async () => {
      const nsp = '/idem';
      const request = { namespace: nsp, room: 'i', event: 'idem', data: 'once', idempotencyKey: `history-${name}-key` };
      const first = await emitLogged(ctx.port, request, { duplicate: false });
      const again = await emitLogged(ctx.port, request, { duplicate: true });
      assert.equal(again.offset, first.offset);
      assert.equal(again.epoch, first.epoch);
      const viaGrpc = grpcEmitResult(await ctx.roomcast.call('Emit', request), { duplicate: true });
      assert.equal(viaGrpc.offset, first.offset);
      const other = await emitLogged(ctx.port, { ...request, idempotencyKey: `history-${name}-other` }, { duplicate: false });
      assert.equal(other.offset, first.offset + 1n);
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp })), [String(first.offset), String(other.offset)]);
    });

    it('EmitBatch: consecutive offsets in order, all in History', async () => {
      const nsp = '/batch';
      const res = await api(ctx.port, 'POST', '/v1/emit:batch', {
        emits: [
          { namespace: nsp, room: 'b', event: 'step', data: 1 },
          { namespace: nsp, room: 'b', event: '', data: 'invalid' },
          { namespace: nsp, room: 'b', event: 'step', data: 2 },
          { namespace: nsp, room: 'c', event: 'step', data: 3 },
        ],
      });
      const body = okJson(res);
      assert.deepEqual(body.results.map((r) => Object.keys(r)[0]), ['emitted', 'error', 'emitted', 'emitted'], show(res));
      const offsets = [0, 2, 3].map((i) => BigInt(body.results[i].emitted.offset));
      assert.deepEqual(offsets.map(String), consecutive(offsets[0], 3), show(res));
      const events = await hist({ namespace: nsp });
      assert.deepEqual(offsetsOf(events), offsets.map(String));
      assert.deepEqual(events.map((e) => e.data), [1, 2, 3]);
      for (const i of [0, 2, 3]) assert.equal(body.results[i].emitted.epoch, events[0].epoch, 'the batch answers the epoch');
    });

    it('gRPC History gives the same events as GET /v1/history (room, afterOffset, limit, reverse)', async () => {
      const nsp = '/grpc';
      const answers = [];
      answers.push(grpcEmitResult(await ctx.roomcast.call('Emit', { namespace: nsp, room: 'g1', event: 'g.obj', data: { a: [1, { b: null }], s: 'x' } })));
      answers.push(grpcEmitResult(await ctx.roomcast.call('Emit', {
        namespace: nsp, rooms: ['g1', 'g2'], exceptRooms: ['g3'], event: 'g.raw',
        dataJson: Buffer.from('{"pre":"serialized","n":[1,2.5,-3]}').toString('base64'),
      })));
      answers.push(await emitLogged(ctx.port, { namespace: nsp, event: 'g.http', data: true }));
      answers.push(grpcEmitResult(await ctx.roomcast.call('Emit', { namespace: nsp, room: 'g2', event: 'g.num', data: 42 })));
      for (let i = 1; i < answers.length; ++i) assert.equal(answers[i].offset, answers[i - 1].offset + 1n, 'one sequence for both transports');
      const offsets = answers.map((a) => String(a.offset));

      const viaGrpc = await historyGrpc(ctx.roomcast, { namespace: nsp });
      const viaHttp = await hist({ namespace: nsp });
      assert.deepEqual(offsetsOf(viaGrpc), offsets);
      assert.deepEqual(viaGrpc.map(what), viaHttp.map(what), 'the same events over both');
      for (let i = 0; i < viaGrpc.length; ++i) {
        assert.equal(viaGrpc[i].epoch, viaHttp[i].epoch);
        assert.ok(Math.abs(viaGrpc[i].timeMs - viaHttp[i].timeMs) <= 1, `the same time: ${viaGrpc[i].timeMs} vs ${viaHttp[i].timeMs}`);
      }
      assert.deepEqual(viaGrpc[0].data, { a: [1, { b: null }], s: 'x' });
      assert.deepEqual(viaGrpc[1].args, [{ pre: 'serialized', n: [1, 2.5, -3] }], 'data_json is logged as its JSON');
      assert.deepEqual(viaGrpc[1].exceptRooms, ['g3']);

      assert.deepEqual(offsetsOf(await historyGrpc(ctx.roomcast, { namespace: nsp, room: 'g2' })), [offsets[1], offsets[2], offsets[3]]);
      assert.deepEqual(offsetsOf(await historyGrpc(ctx.roomcast, { namespace: nsp, afterOffset: offsets[1] })), offsets.slice(2));
      assert.deepEqual(offsetsOf(await historyGrpc(ctx.roomcast, { namespace: nsp, limit: 2 })), offsets.slice(0, 2));
      assert.deepEqual(offsetsOf(await historyGrpc(ctx.roomcast, { namespace: nsp, reverse: true, limit: 3 })), [offsets[3], offsets[2], offsets[1]]);
      assert.deepEqual(offsetsOf(await historyGrpc(ctx.roomcast, { namespace: nsp, reverse: true, afterOffset: offsets[2] })), [offsets[3]]);
      assert.deepEqual(offsetsOf(await historyGrpc(ctx.roomcast, { namespace: nsp, limit: 0 })), offsets, 'limit 0: the default');
    });

    it('bad input: 400 INVALID_ARGUMENT over HTTP, INVALID_ARGUMENT over gRPC; nothing else changes', async () => {
      const nsp = '/grpcbad';
      const cases = [
        [{ namespace: nsp, afterOffset: 'abc' }, /after_?offset/i],
        [{ namespace: nsp, afterOffset: '-1' }, /after_?offset/i],
        [{ namespace: nsp, afterOffset: '1.5' }, /after_?offset/i],
        [{ namespace: nsp, limit: 1001 }, /limit/i],
        [{ namespace: nsp, limit: 'abc' }, /limit/i],
        [{ namespace: nsp, limit: -1 }, /limit/i],
        [{ namespace: nsp, reverse: 'maybe' }, /reverse/i],
        [{ namespace: '/nope' }, /namespace "\/nope"/],
        [{ namespace: nsp, bogus: 1 }, /bogus/],
      ];
      for (const [query, message] of cases) {
        const res = await historyRaw(ctx.port, query);
        assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message });
      }
      for (const [request, message] of [[{ namespace: nsp, limit: 1001 }, /limit/i], [{ namespace: '/nope' }, /namespace "\/nope"/]]) {
        const err = await grpcError(ctx.roomcast.call('History', request));
        assert.equal(err.code, Code.INVALID_ARGUMENT, `${JSON.stringify(request)}: ${err.message}`);
        assert.match(err.details, message);
      }
      const post = await api(ctx.port, 'POST', '/v1/history', { namespace: nsp });
      assertRpcError(post, 405);
      assert.equal((post.headers.allow ?? '').trim(), 'GET', `Allow: ${JSON.stringify(post.headers)}`);
      // Limits at the edges are fine.
      assert.deepEqual(await hist({ namespace: nsp, limit: 1000 }), []);
      assert.deepEqual(await hist({ namespace: nsp, limit: 1 }), []);
      const e = await emitLogged(ctx.port, { namespace: nsp, event: 'after-bad', data: 1 });
      assert.deepEqual(offsetsOf(await hist({ namespace: nsp })), [String(e.offset)]);
    });

    if (redis) {
      it('another node on the same Redis serves the same History and continues the sequence', async () => {
        const other = await startControl([`--namespaces=${kNamespaces.join(',')}`, `--event_log_size=${kLogSize}`,
          `--redis_url=${ctx.redis.url}`, '--cluster_heartbeat_ms=300']);
        (ctx.others ??= []).push(other);
        const nsp = '/after';
        const here = await hist({ namespace: nsp });
        assert.ok(here.length >= 5, 'the afterOffset test logged events here');
        const there = await historyHttp(other.port, { namespace: nsp });
        assert.deepEqual(there.map(what), here.map(what), 'one log for the cluster');
        assert.deepEqual(there.map((e) => e.epoch), here.map((e) => e.epoch));
        const next = await emitLogged(other.port, { namespace: nsp, event: 'after', data: 'from the other node' });
        assert.equal(next.offset, here[here.length - 1].offset + 1n, 'the other node numbers after the last');
        assert.equal(next.epoch, here[0].epoch);
        const back = await hist({ namespace: nsp, afterOffset: String(here[here.length - 1].offset) });
        assert.deepEqual(back.map((e) => e.data), ['from the other node']);
      });
    }
  });
}

historySuite('memory');
historySuite('redis', { redis: true });

describe('choosing the log', () => {
  it('--event_log=memory and ROOMCAST_EVENT_LOG=memory serve History', async (t) => {
    for (const [flags, env] of [[['--event_log=memory'], {}], [[], { ROOMCAST_EVENT_LOG: 'memory' }]]) {
      const server = await startControl(flags, { env });
      t.after(() => stopServer(server));
      const a = await emitLogged(server.port, { room: 'm', event: 'chosen', data: 'memory' });
      const events = await historyHttp(server.port, {});
      assert.deepEqual(events.map((e) => [String(e.offset), e.data]), [[String(a.offset), 'memory']]);
      await stopServer(server);
    }
  });

  it('--event_log=redis with REDIS_URL serves History', { skip: !redisAvailable() && 'redis-server is not installed' }, async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    const server = await startControl(['--event_log=redis', `--redis_url=${redis.url}`]);
    t.after(() => stopServer(server));
    const a = await emitLogged(server.port, { room: 'm', event: 'chosen', data: 'redis' });
    const events = await historyHttp(server.port, { room: 'm' });
    assert.deepEqual(events.map((e) => [String(e.offset), e.data]), [[String(a.offset), 'redis']]);
  });

  it('an unknown --event_log stops startup with an error naming it', async () => {
    const run = await runToExit(['--port=0', '--grpc_port=0', '--event_log=bogus'], { timeoutMs: 5000 });
    assert.equal(run.timedOut, false, `exits on its own:\n${run.stdout}${run.stderr}`);
    assert.notEqual(run.code, 0, `exit code ${run.code}`);
    assert.match(run.stdout + run.stderr, /event_log/, run.stderr);
  });
});

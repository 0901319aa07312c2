// The HTTP shim's emit routes against real socket.io-client sockets: the seed
// route POST /api/socket/emit and POST /v1/emit, JSON of every type arriving
// exactly as sent, rooms / exceptRooms / whole namespace, volatile, offsets,
// EmitBatch order and per-item errors, the test event (POST
// /api/socket/status) and idempotency keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, assertEmitResponse, collect, collected, emitHttp, okJson, show, useControlServer } from '../support/control.js';
import { expectNoEvent, waitFor, waitForArgs } from '../support/sio.js';
import { RawWs, request } from '../support/raw.js';

const fx = useControlServer(['--namespaces=/,/admin']);

/** A WebSocket client in `rooms` (joined at CONNECT), closed when test `t` ends. */
async function client(t, rooms = [], { nsp, transports = ['websocket'] } = {}) {
  const socket = await fx.connect({ transports, ...(rooms.length ? { auth: { rooms } } : {}) }, { nsp });
  t.after(() => socket.close());
  return socket;
}

describe('POST /api/socket/emit and POST /v1/emit', () => {
  for (const path of ['/api/socket/emit', '/v1/emit']) {
    it(`${path}: {"room","event","data"} reaches the socket in the room; uint64s are JSON strings`, async (t) => {
      const inRoom = await client(t, ['orders']);
      const outside = await client(t, ['other']);
      const got = waitForArgs(inRoom, 'order.created');
      const notOutside = expectNoEvent(outside, 'order.created');
      const res = await api(fx.port, 'POST', path, { room: 'orders', event: 'order.created', data: { id: 42, total: 9.5 } });
      const body = okJson(res);
      assert.equal(typeof body.recipients, 'string', `recipients is a proto3-JSON uint64 string: ${show(res)}`);
      assert.equal(typeof body.offset, 'string', `offset is a proto3-JSON uint64 string: ${show(res)}`);
      assertEmitResponse(body, { recipients: 1, duplicate: false });
      assert.deepEqual(await got, [{ id: 42, total: 9.5 }]);
      await notOutside;
    });
  }

  it('answers on [::1] as well as 127.0.0.1 (dual-stack)', async (t) => {
    const s = await client(t, ['v6-room']);
    const got = waitFor(s, 'v6');
    await emitHttp(fx.port, { room: 'v6-room', event: 'v6', data: 'over ::1' }, { host: '::1', recipients: 1 });
    assert.equal(await got, 'over ::1');
  });

  it('reaches polling clients too', async (t) => {
    const s = await client(t, ['poll-room'], { transports: ['polling'] });
    const got = waitFor(s, 'polled');
    await emitHttp(fx.port, { room: 'poll-room', event: 'polled', data: { ok: true } }, { path: '/api/socket/emit', recipients: 1 });
    assert.deepEqual(await got, { ok: true });
  });

  it('an empty room answers recipients "0"', async () => {
    await emitHttp(fx.port, { room: 'nobody-here', event: 'void', data: 1 }, { recipients: 0 });
  });
});

describe('data of every JSON type arrives exactly as sent', () => {
  const values = {
    'nested object': { a: { b: { c: [1, { d: 'e' }] } }, empty: {}, list: [] },
    'unicode string': 'héllo wörld ✓ 日本語 עברית 😀 \u2028\u2029',
    'escapes in strings': 'quote " backslash \\ slash / newline \n tab \t cr \r bell \u0007',
    'NUL in a string': 'a\u0000b',
    'unicode keys': { ключ: 1, '🔑': 2, 'a.b': 3, '': 4, 'with "quotes"': 5 },
    'integer': 42,
    'zero': 0,
    'negative': -17,
    'fraction': 0.1,
    'large exact integer': 9007199254740991,
    'exponent': 1.5e300,
    'tiny': 5e-324,
    'null': null,
    'true': true,
    'false': false,
    'empty string': '',
    'array of every type': [1, 'two', null, true, false, { x: [] }, [[]], 2.5],
    'empty array': [],
    'empty object': {},
    'deep nesting': JSON.parse(`${'{"n":'.repeat(30)}"bottom"${'}'.repeat(30)}`),
    'a 200 kB string': 'x'.repeat(200 * 1024),
  };
  for (const [name, value] of Object.entries(values)) {
    it(name, async (t) => {
      const s = await client(t, ['types']);
      const got = waitForArgs(s, 'typed');
      await emitHttp(fx.port, { room: 'types', event: 'typed', data: value }, { recipients: 1 });
      assert.deepEqual(await got, [value]);
    });
  }
});

describe('targets', () => {
  it('rooms: a list reaches each room once; "room" and "rooms" merge', async (t) => {
    const a = await client(t, ['r-a']);
    const b = await client(t, ['r-b']);
    const both = await client(t, ['r-a', 'r-b']);
    const c = await client(t, ['r-c']);
    const cafe = await client(t, ['café ☕']);
    const seen = [a, b, both, c, cafe].map((s) => collect(s, 'multi'));
    await emitHttp(fx.port, { rooms: ['r-a', 'r-b'], event: 'multi', data: 1 }, { recipients: 3 });
    await emitHttp(fx.port, { room: 'r-c', rooms: ['café ☕'], event: 'multi', data: 2 }, { path: '/api/socket/emit', recipients: 2 });
    for (const list of seen) await collected(list, 1, { settleMs: 0 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seen, [[1], [1], [1], [2], [2]], 'each socket got each event once');
  });

  it('exceptRooms: sockets in any excepted room are skipped', async (t) => {
    const kept = await client(t, ['ex-all']);
    const skipped = await client(t, ['ex-all', 'ex-skip']);
    const skipped2 = await client(t, ['ex-all', 'ex-skip2']);
    const got = waitFor(kept, 'except');
    const none1 = expectNoEvent(skipped, 'except', 500);
    const none2 = expectNoEvent(skipped2, 'except', 500);
    await emitHttp(fx.port, { room: 'ex-all', exceptRooms: ['ex-skip', 'ex-skip2'], event: 'except', data: 'kept' }, { recipients: 1 });
    assert.equal(await got, 'kept');
    await Promise.all([none1, none2]);
  });

  it('no rooms: every socket of the namespace, and no other namespace', async (t) => {
    const admin1 = await client(t, [], { nsp: '/admin' });
    const admin2 = await client(t, ['some-room'], { nsp: '/admin' });
    const main = await client(t, []);
    const got = [waitFor(admin1, 'all-admin'), waitFor(admin2, 'all-admin')];
    const notMain = expectNoEvent(main, 'all-admin', 500);
    await emitHttp(fx.port, { namespace: '/admin', event: 'all-admin', data: { scope: 'namespace' } }, { recipients: 2 });
    assert.deepEqual(await Promise.all(got), [{ scope: 'namespace' }, { scope: 'namespace' }]);
    await notMain;

    const main2 = await client(t, ['x']);
    const gotMain = [waitFor(main, 'all-main'), waitFor(main2, 'all-main')];
    const notAdmin = expectNoEvent(admin1, 'all-main', 500);
    const res = await emitHttp(fx.port, { event: 'all-main', data: 7 });
    assert.ok(res.recipients >= 2n, `recipients ${res.recipients} counts at least the 2 sockets of /`);
    assert.deepEqual(await Promise.all(gotMain), [7, 7]);
    await notAdmin;
  });

  it('volatile: accepted and delivered to an idle socket', async (t) => {
    const s = await client(t, ['vol']);
    const got = waitFor(s, 'vol-event');
    await emitHttp(fx.port, { room: 'vol', event: 'vol-event', data: 'maybe', volatile: true }, { recipients: 1 });
    assert.equal(await got, 'maybe');
  });
});

describe('offsets', () => {
  it('increase strictly with every emit of a namespace', async () => {
    const offsets = [];
    for (let i = 0; i < 5; i += 1) {
      offsets.push((await emitHttp(fx.port, { room: 'offsets', event: 'o', data: i })).offset);
    }
    for (let i = 1; i < offsets.length; i += 1) {
      assert.ok(offsets[i] > offsets[i - 1], `offsets increase: ${offsets.join(', ')}`);
    }
  });
});

describe('POST /v1/emit:batch', () => {
  it('applies the emits in order, with per-item results and errors', async (t) => {
    const s = await client(t, ['batch']);
    const received = collect(s, 'b');
    const res = await api(fx.port, 'POST', '/v1/emit:batch', {
      emits: [
        { room: 'batch', event: 'b', data: 1 },
        { room: 'batch', event: 'b', data: { two: 2 } },
        { room: 'batch', data: 'no event name' },
        { rooms: ['batch'], event: 'b', data: [3] },
        { room: 'nobody', event: 'b', data: 4 },
      ],
    });
    const body = okJson(res);
    assert.deepEqual(Object.keys(body), ['results'], show(res));
    assert.equal(body.results.length, 5, show(res));
    const [r1, r2, bad, r3, r4] = body.results;
    for (const r of [r1, r2, r3, r4]) assert.deepEqual(Object.keys(r), ['emitted'], show(res));
    const e1 = assertEmitResponse(r1.emitted, { recipients: 1 });
    const e2 = assertEmitResponse(r2.emitted, { recipients: 1 });
    const e3 = assertEmitResponse(r3.emitted, { recipients: 1 });
    assertEmitResponse(r4.emitted, { recipients: 0 });
    assert.ok(e1.offset < e2.offset && e2.offset < e3.offset, `offsets in order: ${show(res)}`);
    assert.deepEqual(Object.keys(bad), ['error'], show(res));
    assert.equal(bad.error.code, 'INVALID_ARGUMENT', show(res));
    assert.equal(typeof bad.error.message, 'string');
    assert.match(bad.error.message, /event/i, show(res));
    await collected(received, 3);
    assert.deepEqual(received, [1, { two: 2 }, [3]], 'delivered in batch order');
  });

  it('an empty batch answers an empty result list', async () => {
    const body = okJson(await api(fx.port, 'POST', '/v1/emit:batch', { emits: [] }));
    assert.deepEqual(body.results ?? [], []);
  });
});

describe('POST /api/socket/status (the test event)', () => {
  it('sends testEvent with testData to testRoom and reports the recipients', async (t) => {
    const a = await client(t, ['diag']);
    const b = await client(t, ['diag']);
    const outside = await client(t, []);
    const testData = { message: 'connectivity check', at: 1700000000000, nested: [null, true] };
    const got = [waitForArgs(a, 'test-ping'), waitForArgs(b, 'test-ping')];
    const none = expectNoEvent(outside, 'test-ping', 500);
    const res = await api(fx.port, 'POST', '/api/socket/status', { testRoom: 'diag', testEvent: 'test-ping', testData });
    const body = okJson(res);
    assert.deepEqual(body, { success: true, recipients: '2', room: 'diag', event: 'test-ping' }, show(res));
    assert.deepEqual(await Promise.all(got), [[testData], [testData]]);
    await none;
  });

  it('an empty test room answers success with recipients "0"', async () => {
    const body = okJson(await api(fx.port, 'POST', '/api/socket/status', { testRoom: 'empty-diag', testEvent: 'x', testData: 1 }));
    assert.deepEqual(body, { success: true, recipients: '0', room: 'empty-diag', event: 'x' });
  });
});

describe('idempotency keys', () => {
  it('a repeat answers duplicate:true with the first offset and delivers nothing', async (t) => {
    const s = await client(t, ['idem']);
    const received = collect(s, 'idem-event');
    const first = await emitHttp(fx.port, { room: 'idem', event: 'idem-event', data: 'once', idempotencyKey: 'key-1' }, { recipients: 1 });
    const repeat = await api(fx.port, 'POST', '/v1/emit', { room: 'idem', event: 'idem-event', data: 'once', idempotencyKey: 'key-1' });
    const second = assertEmitResponse(okJson(repeat), { duplicate: true });
    assert.equal(second.offset, first.offset, `same offset: ${show(repeat)}`);
    assert.equal(second.recipients, first.recipients, `the first result: ${show(repeat)}`);
    // The seed route shares the same cache.
    const third = assertEmitResponse(
      okJson(await api(fx.port, 'POST', '/api/socket/emit', { room: 'idem', event: 'idem-event', data: 'once', idempotencyKey: 'key-1' })),
      { duplicate: true },
    );
    assert.equal(third.offset, first.offset);
    await collected(received, 1, { settleMs: 500 });
    assert.deepEqual(received, ['once'], 'delivered exactly once');
  });

  it('another key is a new emit', async (t) => {
    const s = await client(t, ['idem2']);
    const received = collect(s, 'e');
    const a = await emitHttp(fx.port, { room: 'idem2', event: 'e', data: 1, idempotencyKey: 'key-a' }, { recipients: 1 });
    const b = await emitHttp(fx.port, { room: 'idem2', event: 'e', data: 2, idempotencyKey: 'key-b' }, { recipients: 1 });
    assert.ok(b.offset > a.offset);
    assert.deepEqual(await collected(received, 2), [1, 2]);
  });

  it('keys are scoped to the namespace', async () => {
    const main = await emitHttp(fx.port, { room: 'scoped', event: 'e', data: 1, idempotencyKey: 'shared-key' }, { duplicate: false });
    const admin = await emitHttp(fx.port, { namespace: '/admin', room: 'scoped', event: 'e', data: 1, idempotencyKey: 'shared-key' }, { duplicate: false });
    assert.equal(typeof admin.offset, 'bigint');
    const again = await emitHttp(fx.port, { namespace: '/', room: 'scoped', event: 'e', data: 1, idempotencyKey: 'shared-key' }, { duplicate: true });
    assert.equal(again.offset, main.offset, '"/" and "" are the same namespace');
  });

  it('batch items carry their own keys', async (t) => {
    const s = await client(t, ['idem-batch']);
    const received = collect(s, 'ib');
    const body = okJson(await api(fx.port, 'POST', '/v1/emit:batch', {
      emits: [
        { room: 'idem-batch', event: 'ib', data: 1, idempotencyKey: 'batch-key' },
        { room: 'idem-batch', event: 'ib', data: 1, idempotencyKey: 'batch-key' },
        { room: 'idem-batch', event: 'ib', data: 2 },
      ],
    }));
    const [first, repeat, other] = body.results.map((r) => r.emitted);
    const f = assertEmitResponse(first, { recipients: 1, duplicate: false });
    const r = assertEmitResponse(repeat, { duplicate: true });
    assertEmitResponse(other, { recipients: 1, duplicate: false });
    assert.equal(r.offset, f.offset);
    await collected(received, 2);
    assert.deepEqual(received, [1, 2]);
  });

  it('a failed emit does not burn its key', async (t) => {
    const bad = await api(fx.port, 'POST', '/v1/emit', { room: 'idem3', idempotencyKey: 'retry-key' });
    assert.equal(bad.status, 400, show(bad));
    const s = await client(t, ['idem3']);
    const got = waitFor(s, 'retried');
    await emitHttp(fx.port, { room: 'idem3', event: 'retried', data: 'ok', idempotencyKey: 'retry-key' }, { recipients: 1, duplicate: false });
    assert.equal(await got, 'ok');
  });
});

describe('emit data over HTTP goes to the sockets byte for byte', () => {
  const exact = '{"z":1,"a":12345678901234567890,"u":"日本","n":[true,-2,null]}';
  for (const [path, body, expected] of [
    ['/api/socket/emit', `{"room":"exact-http","event":"exact","data":${exact}}`, exact],
    ['/v1/emit:batch', `{"emits":[{"room":"exact-http","event":"exact","data":${exact}}]}`, exact],
    // Fractions go through protobuf's Value: printed as JavaScript would.
    ['/api/socket/emit', '{"room":"exact-http","event":"exact","data":{"f":[1.5,0.1,-2]}}', '{"f":[1.5,0.1,-2]}'],
  ]) {
    it(`${path}: ${expected} arrives as sent (key order, 64-bit integers, fractions)`, async (t) => {
      const raw = await RawWs.openSio(fx.port);
      t.after(() => raw.close());
      raw.send('420["join","exact-http"]');
      assert.match(await raw.next(), /^430\[\{"ok":true/);
      const res = await request(fx.port, { method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
      assert.equal(res.status, 200, show(res));
      assert.equal(await raw.next(), `42["exact",${expected}]`);
    });
  }

  it('data together with dataJson is still refused', async () => {
    const res = await api(fx.port, 'POST', '/v1/emit', { room: 'r', event: 'e', data: 1, dataJson: 'MQ==' });
    assert.equal(res.status, 400, show(res));
  });
});

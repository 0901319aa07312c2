// Every error row of the HTTP shim's status table: a google.rpc.Status JSON
// body ({"code":<gRPC code>,"message":...,"details":[]}) with the HTTP status
// from the one table. The server keeps serving after each.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, api, assertRpcError, emitHttp, okJson, show, useControlServer } from '../support/control.js';
import { request } from '../support/raw.js';
import { waitFor } from '../support/sio.js';

const kMax = 10000;
const fx = useControlServer([`--max_http_buffer_size=${kMax}`]);

const post = (path, body, opts) => api(fx.port, 'POST', path, body, opts);

describe('malformed JSON → 400 with the parse position', () => {
  const cases = {
    'a missing comma': '{"room":"r" "event":"e"}',
    'a truncated object': '{"room":"r","event":',
    'a trailing comma': '{"room":"r","event":"e",}',
    'single quotes': "{'event':'e'}",
    'garbage': 'not json at all',
  };
  for (const [name, body] of Object.entries(cases)) {
    it(`${name}: ${body}`, async () => {
      const res = await post('/api/socket/emit', body);
      assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: /(byte|position|offset|column|char)\D{0,16}\d+/i });
    });
  }

  it('on /v1/emit:batch and POST /api/socket/status too', async () => {
    assertRpcError(await post('/v1/emit:batch', '{"emits":[{]}'), 400, { code: Code.INVALID_ARGUMENT });
    assertRpcError(await post('/api/socket/status', '{"testRoom":'), 400, { code: Code.INVALID_ARGUMENT });
  });

  it('a JSON value that is not an object → 400', async () => {
    assertRpcError(await post('/v1/emit', '[1,2]'), 400, { code: Code.INVALID_ARGUMENT });
    assertRpcError(await post('/v1/emit', '"event"'), 400, { code: Code.INVALID_ARGUMENT });
  });
});

describe('unknown field → 400', () => {
  it('names the field', async () => {
    const res = await post('/api/socket/emit', { room: 'r', event: 'e', data: 1, bogusField: true });
    assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: /bogusField/ });
  });

  it('inside a nested message too', async () => {
    const res = await post('/v1/rooms:join', { sockets: { socketId: 'abc', color: 'blue' }, rooms: ['r'] });
    assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: /color/ });
  });

  it('in a batch item', async () => {
    const res = await post('/v1/emit:batch', { emits: [{ event: 'e', extra: 1 }] });
    assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: /extra/ });
  });
});

describe('wrong type → 400', () => {
  const cases = {
    '"rooms": 5': { event: 'e', rooms: 5 },
    '"rooms": [1]': { event: 'e', rooms: [1] },
    '"event": 5': { event: 5 },
    '"volatile": "yes"': { event: 'e', volatile: 'yes' },
    '"room": {}': { event: 'e', room: {} },
    '"exceptRooms": "x"': { event: 'e', exceptRooms: 'x' },
  };
  for (const [name, body] of Object.entries(cases)) {
    it(name, async () => {
      const field = name.match(/"(\w+)"/)[1];
      const res = await post('/v1/emit', body);
      assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: new RegExp(field) });
    });
  }

  it('a query parameter of the wrong type (GET /v1/status?topRooms=abc)', async () => {
    const res = await api(fx.port, 'GET', '/v1/status?topRooms=abc');
    assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT });
  });
});

describe('missing event name → 400', () => {
  for (const [name, body] of Object.entries({
    'no event': { room: 'r', data: 1 },
    'empty event': { room: 'r', event: '', data: 1 },
    'empty body object': {},
  })) {
    it(name, async () => {
      const res = await post('/api/socket/emit', body);
      assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: /event/i });
    });
  }

  it('an empty request body', async () => {
    const res = await api(fx.port, 'POST', '/v1/emit', '', { headers: { 'content-type': 'application/json' } });
    assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT });
  });
});

describe('a namespace that is not configured → 400 naming it', () => {
  // Only "/" is configured here: an emit elsewhere would reach nobody, ever.
  for (const [path, body] of Object.entries({
    '/v1/emit': { namespace: '/../../etc', room: 'a', event: 'e' },
    '/api/socket/emit': { namespace: '/admin', room: 'a', event: 'e', data: 1 },
    '/v1/rooms:join': { sockets: { namespace: '/admin', room: 'a' }, rooms: ['b'] },
    '/v1/rooms:leave': { sockets: { namespace: '/admin', room: 'a' }, rooms: ['b'] },
    '/v1/sockets:disconnect': { sockets: { namespace: '/admin', room: 'a' } },
  })) {
    it(`POST ${path}`, async () => {
      const res = await post(path, body);
      assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: /namespace "\/(\.\.\/\.\.\/etc|admin)" is not configured/ });
    });
  }

  it('GET /v1/rooms/sockets?namespace=/admin', async () => {
    const res = await api(fx.port, 'GET', '/v1/rooms/sockets?namespace=%2Fadmin&room=a');
    assertRpcError(res, 400, { code: Code.INVALID_ARGUMENT, message: /namespace "\/admin" is not configured/ });
  });

  it('a batch item: its own error, the other items still emitted', async () => {
    const res = await post('/v1/emit:batch', { emits: [{ namespace: '/x', room: 'a', event: 'e' }, { room: 'a', event: 'e' }] });
    const body = okJson(res);
    assert.equal(body.results[0].error.code, 'INVALID_ARGUMENT');
    assert.match(body.results[0].error.message, /namespace "\/x" is not configured/);
    assert.ok(body.results[1].emitted, show(res));
  });
});

describe('body over --max_http_buffer_size → 413', () => {
  it(`a ${2 * kMax}-byte emit body`, async () => {
    const body = JSON.stringify({ room: 'r', event: 'big', data: 'x'.repeat(2 * kMax) });
    const res = await post('/api/socket/emit', body);
    assert.equal(res.status, 413, show(res));
    assert.match(res.headers['content-type'] ?? '', /application\/json/, show(res));
    assert.equal(typeof res.json?.code, 'number', show(res));
    assert.equal(typeof res.json?.message, 'string', show(res));
  });

  it('a body just under the limit is accepted', async (t) => {
    const data = 'y'.repeat(kMax - 200);
    const s = await fx.connect({ transports: ['websocket'], auth: { rooms: ['near-limit'] } });
    t.after(() => s.close());
    const got = waitFor(s, 'big');
    await emitHttp(fx.port, { room: 'near-limit', event: 'big', data }, { recipients: 1 });
    assert.equal(await got, data);
  });
});

describe('unknown route → 404, wrong method → 405', () => {
  for (const [method, path] of [
    ['GET', '/v1/nope'],
    ['POST', '/v1/nope'],
    ['POST', '/api/socket/nope'],
    ['GET', '/api/nope'],
    ['POST', '/v1/emit:explode'],
    ['GET', '/nope'],
  ]) {
    it(`${method} ${path} → 404`, async () => {
      const res = await api(fx.port, method, path, method === 'POST' ? { event: 'e' } : undefined);
      assertRpcError(res, 404, { code: Code.NOT_FOUND });
    });
  }

  for (const [method, path, allowed] of [
    ['GET', '/api/socket/emit', ['POST']],
    ['GET', '/v1/emit', ['POST']],
    ['DELETE', '/v1/emit', ['POST']],
    ['GET', '/v1/emit:batch', ['POST']],
    ['PUT', '/api/socket/status', ['GET', 'POST']],
    ['POST', '/api/health', ['GET']],
    ['POST', '/v1/status', ['GET']],
    ['GET', '/v1/rooms:join', ['POST']],
    ['POST', '/v1/rooms/sockets', ['GET']],
  ]) {
    it(`${method} ${path} → 405 with Allow: ${allowed.join(', ')}`, async () => {
      const res = await api(fx.port, method, path, method === 'GET' || method === 'DELETE' ? undefined : { event: 'e' });
      assertRpcError(res, 405);
      const allow = (res.headers.allow ?? '').split(',').map((v) => v.trim()).filter(Boolean).sort();
      assert.deepEqual(allow, allowed, `Allow header (RFC 9110 requires it on a 405): ${JSON.stringify(res.headers)}`);
    });
  }
});

describe('after all of that', () => {
  it('the server still emits and reports status', async (t) => {
    const s = await fx.connect({ transports: ['websocket'], auth: { rooms: ['still'] } });
    t.after(() => s.close());
    const got = waitFor(s, 'alive');
    await emitHttp(fx.port, { room: 'still', event: 'alive', data: true }, { recipients: 1 });
    assert.equal(await got, true);
    okJson(await api(fx.port, 'GET', '/api/socket/status'));
    const healthz = await request(fx.port, { path: '/healthz' });
    assert.equal(healthz.status, 200);
  });
});

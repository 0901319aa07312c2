// Polling responses compressed as engine.io's httpCompression does: a payload
// of --http_compression_threshold bytes (1024) or more goes gzip- or
// deflate-compressed when the request's Accept-Encoding allows it, and
// inflates to the very payload; smaller ones, clients that accept neither,
// and a server with the threshold at 0 get it as is. Raw polling requests, so
// the bytes on the wire are what is checked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { api } from '../support/control.js';
import { useRoomcastd } from '../support/fixtures.js';
import { RS, eioPath, pollingSioSession } from '../support/raw.js';
import { withTimeout } from '../support/sio.js';

const big = { items: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `item-${i}`, status: 'shipped' })) };

/** One GET poll; resolves { status, headers, raw } with the body's bytes as sent. */
function pollRaw(port, sid, headers = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: eioPath(`transport=polling&sid=${sid}`), headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, raw: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  }), 5000, 'a poll');
}

/** A polling Socket.IO session with `data` emitted to it; resolves its sid. */
async function sessionWith(port, data) {
  const { sid, connect } = await pollingSioSession(port);
  const socketId = JSON.parse(connect.slice(2)).sid;
  const res = await api(port, 'POST', '/api/socket/emit', { room: socketId, event: 'big', data });
  assert.equal(res.status, 200, res.body);
  return sid;
}

const expected = (data) => `42${JSON.stringify(['big', data])}`;

describe('polling compression (default threshold 1024 bytes)', () => {
  const fx = useRoomcastd([]);

  for (const [encoding, inflate] of [['gzip', zlib.gunzipSync], ['deflate', zlib.inflateSync]]) {
    it(`a large payload goes ${encoding}-compressed to a client that accepts it`, async () => {
      await fx.ready;
      const sid = await sessionWith(fx.port, big);
      const res = await pollRaw(fx.port, sid, { 'accept-encoding': encoding === 'gzip' ? 'gzip, deflate, br' : 'deflate' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], encoding);
      const payload = inflate(res.raw).toString();
      assert.equal(payload.split(RS).find((p) => p.startsWith('42')), expected(big));
      assert.ok(res.raw.length < payload.length / 3, `${res.raw.length} bytes for ${payload.length}`);
      assert.equal(Number(res.headers['content-length']), res.raw.length);
    });
  }

  it('as is: a small payload, a client that accepts neither, one that refuses gzip with q=0', async () => {
    await fx.ready;
    const small = await sessionWith(fx.port, { n: 1 });
    const tiny = await pollRaw(fx.port, small, { 'accept-encoding': 'gzip' });
    assert.equal(tiny.headers['content-encoding'], undefined);
    assert.equal(tiny.raw.toString(), expected({ n: 1 }));
    for (const accept of [undefined, 'br', 'gzip;q=0']) {
      const sid = await sessionWith(fx.port, big);
      const res = await pollRaw(fx.port, sid, accept ? { 'accept-encoding': accept } : {});
      assert.equal(res.headers['content-encoding'], undefined, String(accept));
      assert.equal(res.raw.toString(), expected(big), String(accept));
    }
  });
});

describe('--http_compression_threshold=0', () => {
  const fx = useRoomcastd(['--http_compression_threshold=0']);

  it('never compresses', async () => {
    await fx.ready;
    const sid = await sessionWith(fx.port, big);
    const res = await pollRaw(fx.port, sid, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.raw.toString(), expected(big));
  });
});

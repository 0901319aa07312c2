// RFC 6455 from the wire: frames a browser would never send (unmasked,
// invalid UTF-8, reserved bits, a stray continuation) end that connection
// with the right close code, pings are answered with their payload, a
// client's close is echoed, and fragments make one message. Raw TCP, since
// WebSocket client libraries cannot send malformed frames.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useRoomcastd } from '../support/fixtures.js';
import { withTimeout, kStepTimeoutMs } from '../support/sio.js';

const fx = useRoomcastd();

/** A client frame: masked with a fixed key unless `mask` is false. */
function frame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.from(payload);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const head = [(fin ? 0x80 : 0) | rsv | opcode];
  if (data.length < 126) head.push((mask ? 0x80 : 0) | data.length);
  else head.push((mask ? 0x80 : 0) | 126, data.length >> 8, data.length & 0xff);
  const body = mask ? Buffer.from(data.map((b, i) => b ^ key[i % 4])) : data;
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]);
}

/** Upgrades a raw socket; resolves with a reader of server frames. */
async function openRaw(port) {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  const frames = [];
  const waiters = [];
  const ended = new Promise((resolve) => socket.on('close', resolve));
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(buffer.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
      buffer = buffer.subarray(end + 4);
      upgraded = true;
    }
    while (buffer.length >= 2) {
      let length = buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      }
      if (buffer.length < offset + length) return;
      const f = { opcode: buffer[0] & 0x0f, payload: buffer.subarray(offset, offset + length) };
      buffer = buffer.subarray(offset + length);
      const waiter = waiters.shift();
      if (waiter) waiter(f);
      else frames.push(f);
    }
  });
  socket.write('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
    'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    'Sec-WebSocket-Version: 13\r\n\r\n');
  const next = () => withTimeout(frames.length ? Promise.resolve(frames.shift())
    : new Promise((resolve) => waiters.push(resolve)), kStepTimeoutMs, 'a server frame');
  const open = await next();
  assert.equal(open.payload.toString()[0], '0', 'the Engine.IO open packet comes first');
  return { socket, next, ended: withTimeout(ended, kStepTimeoutMs, 'the connection to end') };
}

/** Sends `bytes`, expects a close frame with `code`, then the end of the connection. */
async function expectClose(bytes, code) {
  const raw = await openRaw(fx.port);
  raw.socket.write(bytes);
  let f;
  do f = await raw.next(); while (f.opcode !== 0x8);
  assert.equal(f.payload.readUInt16BE(0), code);
  await raw.ended;
}

describe('WebSocket framing', () => {
  it('an unmasked frame: close 1002', () => expectClose(frame(0x1, '40', { mask: false }), 1002));
  it('a reserved bit set: close 1002', () => expectClose(frame(0x1, '40', { rsv: 0x40 }), 1002));
  it('a continuation with no message: close 1002', () => expectClose(frame(0x0, '40'), 1002));
  it('a text frame that is not UTF-8: close 1007', () => expectClose(frame(0x1, Buffer.from([0x34, 0xc3, 0x28])), 1007));

  it('a ping is answered with a pong carrying its payload', async () => {
    const raw = await openRaw(fx.port);
    raw.socket.write(frame(0x9, 'hello'));
    const pong = await raw.next();
    assert.equal(pong.opcode, 0xa);
    assert.equal(pong.payload.toString(), 'hello');
    raw.socket.destroy();
  });

  it("the client's close is echoed with its code, then the connection ends", async () => {
    const raw = await openRaw(fx.port);
    raw.socket.write(frame(0x8, Buffer.from([0x03, 0xe9])));  // 1001
    const close = await raw.next();
    assert.equal(close.opcode, 0x8);
    assert.equal(close.payload.readUInt16BE(0), 1001);
    raw.socket.end();
    await raw.ended;
  });

  it('fragments with a ping between them make one message', async () => {
    const raw = await openRaw(fx.port);
    raw.socket.write(Buffer.concat([frame(0x1, '4', { fin: false }), frame(0x9, 'p'), frame(0x0, '0')]));
    assert.equal((await raw.next()).opcode, 0xa, 'the ping between the fragments is answered');
    const connected = await raw.next();
    assert.match(connected.payload.toString(), /^40\{"sid":/, 'the reassembled "40" connected the socket');
    raw.socket.destroy();
  });
});

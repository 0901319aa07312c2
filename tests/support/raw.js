// Raw HTTP, Engine.IO polling and WebSocket helpers (no socket.io-client), for
// tests that need to see status codes, headers and individual packets.
import http from 'node:http';
import WebSocket from 'ws';
import { kStepTimeoutMs, withTimeout } from './sio.js';

export const RS = '\x1e';

/**
 * One HTTP request on its own connection. Resolves { status, headers, body }
 * (body as a string); rejects on a connection error or after `timeoutMs`.
 */
export function request(port, { method = 'GET', path = '/', headers = {}, body, host = '127.0.0.1', timeoutMs = kStepTimeoutMs } = {}) {
  const done = new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.end(body);
  });
  return withTimeout(done, timeoutMs + 500, `${method} ${path}`);
}

/** Path of an Engine.IO v4 request under /socket.io/ with extra query parameters. */
export function eioPath(query = '') {
  return `/socket.io/?EIO=4${query ? `&${query}` : ''}`;
}

/** Parses an Engine.IO open packet `0{...}`. */
export function parseOpen(packet) {
  if (typeof packet !== 'string' || packet[0] !== '0') throw new Error(`not an open packet: ${packet}`);
  return JSON.parse(packet.slice(1));
}

/** Polling handshake: resolves the open packet's fields ({ sid, pingInterval, ... }). */
export async function pollingHandshake(port, { headers } = {}) {
  const res = await request(port, { path: eioPath('transport=polling'), headers });
  if (res.status !== 200) throw new Error(`handshake got ${res.status}: ${res.body}`);
  return parseOpen(res.body);
}

/** GET poll of a polling session. */
export function pollGet(port, sid, opts = {}) {
  return request(port, { path: eioPath(`transport=polling&sid=${encodeURIComponent(sid)}`), ...opts });
}

/** POST of a payload to a polling session. */
export function pollPost(port, sid, body, { headers, ...opts } = {}) {
  return request(port, {
    method: 'POST',
    path: eioPath(`transport=polling&sid=${encodeURIComponent(sid)}`),
    headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...headers },
    body,
    ...opts,
  });
}

/** Polling handshake plus Socket.IO CONNECT to `/`; resolves { sid, open, connect }. */
export async function pollingSioSession(port) {
  const open = await pollingHandshake(port);
  const posted = await pollPost(port, open.sid, '40');
  if (posted.status !== 200) throw new Error(`CONNECT post got ${posted.status}: ${posted.body}`);
  const reply = await pollGet(port, open.sid);
  if (!reply.body.startsWith('40')) throw new Error(`expected CONNECT reply, got ${reply.status} ${reply.body}`);
  return { sid: open.sid, open, connect: reply.body };
}

/**
 * Asserts the polling session `sid` no longer exists: a GET gets 400, or gets
 * a final close packet and the GET after it 400. Resolves the responses seen.
 */
export async function pollingSessionGone(port, sid) {
  const seen = [];
  for (let i = 0; i < 2; i += 1) {
    const res = await pollGet(port, sid);
    seen.push(res);
    if (res.status === 400) return { gone: true, seen };
    const packets = res.body.split(RS);
    if (res.status !== 200 || packets[packets.length - 1] !== '1') return { gone: false, seen };
  }
  return { gone: false, seen };
}

/**
 * A raw WebSocket to `/socket.io/` that queues every message from the start.
 * next() resolves the next message (string for text, Buffer for binary);
 * closed resolves { code, reason, at } when the socket closes.
 */
export class RawWs {
  constructor(url, { headers = {} } = {}) {
    this.url = url;
    this.ws = new WebSocket(url, { headers, handshakeTimeout: kStepTimeoutMs, perMessageDeflate: false });
    this.queue = [];
    this.waiters = [];
    this.ws.on('message', (data, isBinary) => {
      const msg = isBinary ? data : data.toString();
      const waiter = this.waiters.shift();
      if (waiter) waiter(msg);
      else this.queue.push(msg);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() }));
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(Object.assign(new Error(`WebSocket handshake got HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
      });
    });
    this.opened.catch(() => {});
  }

  /** Opens ws://host:port/socket.io/?EIO=4&transport=websocket[&query]. */
  static async open(port, { host = '127.0.0.1', query = '', headers } = {}) {
    const h = host.includes(':') ? `[${host}]` : host;
    const raw = new RawWs(`ws://${h}:${port}${eioPath(`transport=websocket${query ? `&${query}` : ''}`)}`, { headers });
    await withTimeout(raw.opened, kStepTimeoutMs, `WebSocket open to ${raw.url}`);
    return raw;
  }

  /** Opens a WebSocket session and completes the Socket.IO CONNECT to `/`. */
  static async openSio(port, opts = {}) {
    const raw = await RawWs.open(port, opts);
    raw.open = parseOpen(await raw.next());
    raw.send('40');
    raw.connect = await raw.next();
    if (!raw.connect.startsWith('40')) throw new Error(`expected CONNECT reply, got ${raw.connect}`);
    return raw;
  }

  next(ms = kStepTimeoutMs) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    let waiter;
    const got = new Promise((resolve) => {
      waiter = resolve;
      this.waiters.push(waiter);
    });
    return withTimeout(got, ms, `a WebSocket message on ${this.url}`).catch((err) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  send(data) {
    this.ws.send(data);
  }

  /** Resolves { code, reason, at } once closed, rejects after `ms`. */
  waitClosed(ms = kStepTimeoutMs) {
    return withTimeout(this.closed, ms, `close of ${this.url}`);
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close() {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

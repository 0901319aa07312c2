// Control-plane helpers: roomcastd with an ephemeral gRPC port, JSON calls to
// the HTTP shim, google.rpc.Status and proto3-JSON assertions, and a small
// Prometheus text-format parser.
import assert from 'node:assert/strict';
import { startRoomcastd } from './process.js';
import { useRoomcastd } from './fixtures.js';
import { request } from './raw.js';

/** Flags every control test passes: gRPC on an ephemeral port (never the 50051 default). */
export const kGrpcEphemeral = '--grpc_port=0';

function withGrpcPort(flags) {
  return flags.some((f) => f.startsWith('--grpc_port')) ? flags : [kGrpcEphemeral, ...flags];
}

/** startRoomcastd with --grpc_port=0 unless given; asserts the listening line named grpc_port. */
export async function startControl(flags = [], options = {}) {
  const server = await startRoomcastd(withGrpcPort(flags), options);
  if (server.grpcPort === undefined) {
    server.child.kill('SIGKILL');
    throw new Error(`roomcastd's listening line has no grpc_port=:\n${server.output()}`);
  }
  return server;
}

/** useRoomcastd (one server per file or describe) with --grpc_port=0; adds fx.grpcPort. */
export function useControlServer(flags = [], options = {}) {
  const fx = useRoomcastd(withGrpcPort(flags), options);
  Object.defineProperty(fx, 'grpcPort', { get: () => fx.server?.grpcPort });
  return fx;
}

/**
 * One HTTP call to the shim. `body`: an object (sent as JSON), a string or
 * Buffer (sent as is), or undefined. Resolves { status, headers, body, json }
 * where json is the parsed body, or undefined when it is not JSON.
 */
export async function api(port, method, path, body, { headers = {}, host, timeoutMs } = {}) {
  const payload = body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const allHeaders = { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers };
  const res = await request(port, { method, path, body: payload, headers: allHeaders, host, timeoutMs });
  let json;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  return { ...res, json };
}

/** Describes a response for assertion messages. */
export const show = (res) => `HTTP ${res.status} ${res.headers?.['content-type'] ?? ''} ${res.body}`;

/** Asserts a 2xx JSON answer and returns its parsed body. */
export function okJson(res, status = 200) {
  assert.equal(res.status, status, show(res));
  assert.match(res.headers['content-type'] ?? '', /application\/json/, show(res));
  assert.ok(res.json && typeof res.json === 'object', `JSON object body: ${show(res)}`);
  return res.json;
}

/** gRPC status codes by name (google.rpc.Code). */
export const Code = Object.freeze({
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9,
  ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
});

/**
 * Asserts a google.rpc.Status error body: HTTP `status`, JSON
 * {"code":<number>,"message":<string>,"details":[]}; `code` (number) checked
 * when given, `message` matched against a RegExp when given. Returns the body.
 */
export function assertRpcError(res, status, { code, message } = {}) {
  assert.equal(res.status, status, show(res));
  assert.match(res.headers['content-type'] ?? '', /application\/json/, `error content-type: ${show(res)}`);
  const body = res.json;
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), `google.rpc.Status JSON body: ${show(res)}`);
  assert.equal(typeof body.code, 'number', `numeric code: ${show(res)}`);
  assert.ok(Number.isInteger(body.code) && body.code > 0 && body.code <= 16, `a gRPC code: ${show(res)}`);
  assert.equal(typeof body.message, 'string', `string message: ${show(res)}`);
  assert.notEqual(body.message, '', `non-empty message: ${show(res)}`);
  assert.ok(Array.isArray(body.details), `details array: ${show(res)}`);
  if (code !== undefined) assert.equal(body.code, code, `gRPC code: ${show(res)}`);
  if (message !== undefined) assert.match(body.message, message, show(res));
  return body;
}

/**
 * Asserts a proto3-JSON uint64 (a decimal string, per the JSON mapping) and
 * returns it as a BigInt.
 */
export function u64(value, what = 'uint64') {
  assert.equal(typeof value, 'string', `${what} is a proto3-JSON uint64 string, got ${JSON.stringify(value)}`);
  assert.match(value, /^(0|[1-9]\d*)$/, `${what}: ${JSON.stringify(value)}`);
  return BigInt(value);
}

/** Asserts an EmitResponse JSON ({"recipients":"N","offset":"K","duplicate":bool}); returns it with BigInts. */
export function assertEmitResponse(body, { recipients, duplicate = false } = {}) {
  assert.deepEqual(Object.keys(body).sort(), ['duplicate', 'epoch', 'offset', 'recipients'], `EmitResponse fields: ${JSON.stringify(body)}`);
  assert.equal(typeof body.epoch, 'string', `epoch: ${JSON.stringify(body)}`);
  const parsed = { recipients: u64(body.recipients, 'recipients'), offset: u64(body.offset, 'offset'), duplicate: body.duplicate, epoch: body.epoch };
  assert.equal(body.duplicate, duplicate, `duplicate: ${JSON.stringify(body)}`);
  if (recipients !== undefined) assert.equal(parsed.recipients, BigInt(recipients), `recipients: ${JSON.stringify(body)}`);
  return parsed;
}

/** HTTP emit through `path` (default POST /v1/emit); asserts 200 and the EmitResponse shape. */
export async function emitHttp(port, request, { path = '/v1/emit', headers, host, recipients, duplicate } = {}) {
  const res = await api(port, 'POST', path, request, { headers, host });
  return assertEmitResponse(okJson(res), { recipients, duplicate });
}

/**
 * Parses Prometheus text exposition format (0.0.4). Returns
 * { types: Map(family -> type), help: Map, samples: [{ name, labels, value }] }.
 * Throws on a line it cannot parse.
 */
export function parsePrometheus(text) {
  const types = new Map();
  const help = new Map();
  const samples = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(TYPE|HELP)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (m && m[1] === 'TYPE') types.set(m[2], m[3]);
      if (m && m[1] === 'HELP') help.set(m[2], m[3] ?? '');
      return;
    }
    let i = 0;
    const fail = (why) => {
      throw new Error(`metrics line ${index + 1}: ${why}: ${raw}`);
    };
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) fail('no metric name');
    const name = nameMatch[0];
    i = name.length;
    const labels = {};
    if (line[i] === '{') {
      i += 1;
      for (;;) {
        while (line[i] === ' ') i += 1;
        if (line[i] === '}') {
          i += 1;
          break;
        }
        const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
        if (!labelMatch) fail('bad label name');
        i += labelMatch[0].length;
        if (line[i] !== '=' || line[i + 1] !== '"') fail('expected ="');
        i += 2;
        let value = '';
        for (;;) {
          if (i >= line.length) fail('unterminated label value');
          const c = line[i];
          if (c === '\\') {
            const n = line[i + 1];
            value += n === 'n' ? '\n' : n;
            i += 2;
          } else if (c === '"') {
            i += 1;
            break;
          } else {
            value += c;
            i += 1;
          }
        }
        labels[labelMatch[0]] = value;
        while (line[i] === ' ') i += 1;
        if (line[i] === ',') i += 1;
        else if (line[i] !== '}') fail('expected , or }');
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') fail('expected value [timestamp]');
    const text = rest[0];
    const value = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : text === 'NaN' ? NaN : Number(text);
    if (Number.isNaN(value) && text !== 'NaN') fail(`bad value ${text}`);
    samples.push({ name, labels, value });
  });
  return { types, help, samples };
}

/** Samples of `name` whose labels include every pair of `labels`. */
export function findSamples(metrics, name, labels = {}) {
  return metrics.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The one sample of `name` with `labels`; asserts there is exactly one. */
export function sampleValue(metrics, name, labels = {}) {
  const found = findSamples(metrics, name, labels);
  assert.equal(found.length, 1, `exactly one ${name}${JSON.stringify(labels)} sample, got ${JSON.stringify(found)}`);
  return found[0].value;
}

/** Polls `fn` until it resolves a truthy value or `timeoutMs` passes; resolves the last value. */
export async function pollUntil(fn, { timeoutMs = 10000, intervalMs = 200, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      lastError = undefined;
      if (last) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError ? `last error: ${lastError.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Records the first argument of every `event` on `emitter`; returns the live array. */
export function collect(emitter, event) {
  const seen = [];
  emitter.on(event, (first) => seen.push(first));
  return seen;
}

/** Waits until `list` has `n` entries (bounded), then `settleMs` more for extras to show up. */
export async function collected(list, n, { timeoutMs = 3000, settleMs = 300 } = {}) {
  await pollUntil(() => list.length >= n, { timeoutMs, intervalMs: 20, what: `${n} events (have ${JSON.stringify(list).slice(0, 200)})` }).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return list;
}

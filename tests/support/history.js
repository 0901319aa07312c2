// Event-log helpers: emits whose answers carry (offset, epoch), History over
// the HTTP shim (GET /v1/history) and gRPC, both normalized to one shape so a
// test can compare them, and a bounded-concurrency runner for emit streams.
import assert from 'node:assert/strict';
import { api, okJson, show, u64 } from './control.js';

/** RFC 3339 with an optional fraction (up to nanoseconds) and a zone. */
export const kRfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an RFC 3339 string (asserted). */
export function rfc3339Ms(text) {
  assert.equal(typeof text, 'string', `time is an RFC 3339 string, got ${JSON.stringify(text)}`);
  const m = kRfc3339.exec(text);
  assert.ok(m, `time is RFC 3339: ${JSON.stringify(text)}`);
  const fraction = m[2] ? m[2].slice(0, 4).padEnd(4, '0') : '';
  const ms = Date.parse(`${m[1]}${fraction}${m[3]}`);
  assert.ok(Number.isFinite(ms), `time parses: ${text}`);
  return ms;
}

const kEmitFields = new Set(['recipients', 'offset', 'duplicate', 'epoch']);

/**
 * Asserts an EmitResponse JSON with the log's fields ({"recipients","offset",
 * "epoch","duplicate"}; offset may be absent for a volatile event) and returns
 * { recipients: BigInt, offset: BigInt, epoch: string, duplicate: bool }.
 * A non-volatile answer must carry an offset > 0 and a non-empty epoch.
 */
export function assertLoggedEmit(body, { volatile = false, duplicate, recipients } = {}) {
  const text = JSON.stringify(body);
  assert.ok(body && typeof body === 'object', `EmitResponse object: ${text}`);
  for (const key of Object.keys(body)) assert.ok(kEmitFields.has(key), `EmitResponse field "${key}": ${text}`);
  const parsed = {
    recipients: u64(body.recipients, 'recipients'),
    offset: body.offset === undefined ? 0n : u64(body.offset, 'offset'),
    epoch: body.epoch ?? '',
    duplicate: body.duplicate ?? false,
  };
  assert.equal(typeof parsed.epoch, 'string', `epoch is a string: ${text}`);
  assert.equal(typeof parsed.duplicate, 'boolean', `duplicate is a bool: ${text}`);
  if (volatile) {
    assert.equal(parsed.offset, 0n, `a volatile event is not logged: offset 0 (or none): ${text}`);
  } else {
    assert.ok(parsed.offset > 0n, `a logged event has an offset > 0: ${text}`);
    assert.notEqual(parsed.epoch, '', `a logged event names its epoch: ${text}`);
  }
  if (duplicate !== undefined) assert.equal(parsed.duplicate, duplicate, `duplicate: ${text}`);
  if (recipients !== undefined) assert.equal(parsed.recipients, BigInt(recipients), `recipients: ${text}`);
  return parsed;
}

/** POST /v1/emit; asserts 200 and the logged EmitResponse; returns it parsed (see assertLoggedEmit). */
export async function emitLogged(port, request, { timeoutMs = 10000, ...expect } = {}) {
  const res = await api(port, 'POST', '/v1/emit', request, { timeoutMs });
  return assertLoggedEmit(okJson(res), { volatile: request.volatile === true, ...expect });
}

/** A gRPC EmitResponse (proto field names, uint64 as strings) parsed like assertLoggedEmit. */
export function grpcEmitResult(res, { volatile = false, duplicate } = {}) {
  const body = { recipients: res.recipients, offset: res.offset, epoch: res.epoch, duplicate: res.duplicate };
  return assertLoggedEmit(body, { volatile, duplicate });
}

/** /v1/history?... from { namespace, room, afterOffset, limit, reverse } (undefined ones left out). */
export function historyPath(query = {}) {
  const params = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return `/v1/history${params.length ? `?${params.join('&')}` : ''}`;
}

/** GET /v1/history as is: { status, headers, body, json }. */
export function historyRaw(port, query = {}, { timeoutMs = 10000 } = {}) {
  return api(port, 'GET', historyPath(query), undefined, { timeoutMs });
}

const kEventFields = ['args', 'data', 'epoch', 'event', 'exceptRooms', 'offset', 'rooms', 'time'];

/**
 * Asserts one HistoryEvent in JSON and returns it normalized:
 * { offset: BigInt, epoch, event, data, args, rooms, exceptRooms, timeMs }.
 */
export function normalizeJsonEvent(e) {
  const text = JSON.stringify(e);
  assert.ok(e && typeof e === 'object' && !Array.isArray(e), `HistoryEvent object: ${text}`);
  for (const key of Object.keys(e)) assert.ok(kEventFields.includes(key), `HistoryEvent field "${key}": ${text}`);
  for (const key of ['offset', 'epoch', 'event', 'args', 'time']) assert.ok(key in e, `HistoryEvent has "${key}": ${text}`);
  assert.equal(typeof e.epoch, 'string', `epoch: ${text}`);
  assert.notEqual(e.epoch, '', `epoch is not empty: ${text}`);
  assert.equal(typeof e.event, 'string', `event: ${text}`);
  assert.ok(Array.isArray(e.args), `args is an array: ${text}`);
  assert.ok(Array.isArray(e.rooms ?? []), `rooms is an array: ${text}`);
  assert.ok(Array.isArray(e.exceptRooms ?? []), `exceptRooms is an array: ${text}`);
  return {
    offset: u64(e.offset, 'HistoryEvent.offset'),
    epoch: e.epoch,
    event: e.event,
    data: e.data === undefined ? null : e.data,
    args: e.args,
    rooms: e.rooms ?? [],
    exceptRooms: e.exceptRooms ?? [],
    timeMs: rfc3339Ms(e.time),
  };
}

/** GET /v1/history; asserts 200 {"events":[...]} and returns the events normalized. */
export async function historyHttp(port, query = {}, opts = {}) {
  const res = await historyRaw(port, query, opts);
  const body = okJson(res);
  assert.deepEqual(Object.keys(body), ['events'], `HistoryResponse: ${show(res)}`);
  assert.ok(Array.isArray(body.events), `events is an array: ${show(res)}`);
  return body.events.map(normalizeJsonEvent);
}

const kindOf = (v) => v.kind ?? Object.keys(v).find((k) => /value$/i.test(k));

/** A google.protobuf.Value as protobufjs' toObject gives it (oneofs on) as plain JSON. */
export function valueToJson(v) {
  if (v === null || v === undefined) return null;
  const kind = kindOf(v);
  const inner = v[kind];
  switch (kind) {
    case 'nullValue':
    case 'null_value':
    case undefined:
      return null;
    case 'numberValue':
    case 'number_value':
    case 'stringValue':
    case 'string_value':
    case 'boolValue':
    case 'bool_value':
      return inner;
    case 'structValue':
    case 'struct_value':
      return Object.fromEntries(Object.entries(inner?.fields ?? {}).map(([k, x]) => [k, valueToJson(x)]));
    case 'listValue':
    case 'list_value':
      return listToJson(inner);
    default:
      throw new Error(`not a google.protobuf.Value: ${JSON.stringify(v)}`);
  }
}

/** A google.protobuf.ListValue (protobufjs object) as a JSON array. */
export function listToJson(list) {
  return (list?.values ?? []).map(valueToJson);
}

/** One gRPC HistoryEvent (proto field names) normalized like normalizeJsonEvent. */
export function normalizeGrpcEvent(e) {
  const text = JSON.stringify(e);
  assert.ok(e.time && e.time.seconds !== undefined, `time is a Timestamp: ${text}`);
  return {
    offset: u64(e.offset, 'HistoryEvent.offset'),
    epoch: e.epoch,
    event: e.event,
    data: valueToJson(e.data),
    args: listToJson(e.args),
    rooms: e.rooms ?? [],
    exceptRooms: e.except_rooms ?? e.exceptRooms ?? [],
    timeMs: Number(e.time.seconds) * 1000 + Math.floor(Number(e.time.nanos ?? 0) / 1e6),
  };
}

/** roomcast.v1.Roomcast/History over gRPC (a ServiceClient); the events normalized. */
export async function historyGrpc(client, request = {}, opts = {}) {
  const res = await client.call('History', request, { timeoutMs: 10000, ...opts });
  assert.ok(Array.isArray(res.events), `HistoryResponse.events: ${JSON.stringify(res)}`);
  return res.events.map(normalizeGrpcEvent);
}

/**
 * Every event History holds for `query` (namespace, room), oldest first, read
 * in pages of 1000 after the last offset seen; at most `maxPages` pages.
 */
export async function historyAll(port, query = {}, { maxPages = 20 } = {}) {
  const all = [];
  let after = 0n;
  for (let page = 0; page < maxPages; ++page) {
    const events = await historyHttp(port, { ...query, afterOffset: after === 0n ? undefined : String(after), limit: 1000 });
    all.push(...events);
    if (events.length < 1000) return all;
    after = events[events.length - 1].offset;
  }
  throw new Error(`History for ${JSON.stringify(query)} holds more than ${maxPages} pages`);
}

/** Offsets as decimal strings (for deepEqual messages that read well). */
export const offsetsOf = (events) => events.map((e) => String(e.offset));

/** n consecutive offsets from `first` (BigInt), as strings. */
export const consecutive = (first, n) => Array.from({ length: n }, (_, i) => String(first + BigInt(i)));

/** Runs fn(item, index) over items with at most `limit` in flight; resolves the results in order. */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// GET /api/socket/status and /v1/status, /api/health and /v1/health (no
// database), /healthz, /readyz and /metrics after known traffic on a fresh
// server: 2 sockets in one room, 3 HTTP emits and 1 gRPC emit to it.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, emitHttp, findSamples, okJson, parsePrometheus, sampleValue, show, startControl, u64, useControlServer,
} from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { request } from '../support/raw.js';
import { HealthClient, Reflection, grpcTarget } from '../support/grpc.js';
import { waitFor } from '../support/sio.js';

const fx = useControlServer();
const traffic = {};

before(async () => {
  await fx.ready;
  const a = await fx.connect({ transports: ['websocket'], auth: { rooms: ['metered'] } });
  const b = await fx.connect({ transports: ['polling'], auth: { rooms: ['metered'] } });
  const received = [a, b].map((s) => {
    const seen = [];
    s.on('m', (d) => seen.push(d));
    return seen;
  });
  for (const i of [1, 2, 3]) {
    await emitHttp(fx.port, { room: 'metered', event: 'm', data: i }, { path: i === 1 ? '/api/socket/emit' : '/v1/emit', recipients: 2 });
  }
  const reflection = new Reflection(grpcTarget(fx.grpcPort));
  try {
    const roomcast = await reflection.service('roomcast.v1.Roomcast');
    try {
      const res = await roomcast.call('Emit', { room: 'metered', event: 'm', data: 4 });
      assert.equal(res.recipients, '2');
    } finally {
      roomcast.close();
    }
  } finally {
    reflection.close();
  }
  const deadline = Date.now() + 3000;
  while (received.some((r) => r.length < 4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(received, [[1, 2, 3, 4], [1, 2, 3, 4]], 'both sockets got the 4 emits');
  Object.assign(traffic, { a, b });
});

describe('GET /api/socket/status and /v1/status', () => {
  for (const path of ['/api/socket/status', '/v1/status']) {
    it(`${path} reports the known traffic in proto3 JSON`, async () => {
      const res = await api(fx.port, 'GET', path);
      const body = okJson(res);
      for (const field of ['connections', 'namespaces', 'rooms', 'topRooms', 'nodeId', 'version', 'uptimeSeconds', 'counters', 'emitLatency']) {
        assert.ok(field in body, `StatusResponse has ${field}: ${show(res)}`);
      }
      assert.equal(u64(body.connections, 'connections'), 2n, show(res));
      assert.equal(u64(body.rooms, 'rooms'), 1n, `own id rooms excluded: ${show(res)}`);
      assert.deepEqual(body.namespaces, [{ name: '/', sockets: '2', rooms: '1' }], show(res));
      assert.deepEqual(body.topRooms, [{ namespace: '/', room: 'metered', members: '2' }], show(res));
      assert.equal(typeof body.nodeId, 'string');
      assert.notEqual(body.nodeId, '');
      assert.equal(typeof body.version, 'string');
      assert.notEqual(body.version, '');
      u64(body.uptimeSeconds, 'uptimeSeconds');

      const c = body.counters;
      assert.deepEqual(c.emitsByTransport, { grpc: '1', http: '3' }, `emits by transport: ${show(res)}`);
      assert.ok(u64(c.deliveries, 'deliveries') >= 8n, `deliveries >= 8: ${show(res)}`);
      assert.equal(typeof c.dropsByReason, 'object', show(res));
      for (const [reason, n] of Object.entries(c.dropsByReason)) u64(n, `dropsByReason.${reason}`);
      for (const f of ['sessionsOpened', 'protocolErrors', 'clientEvents', 'clientEventsUnavailable', 'clientAcks', 'clientAcksTimedOut']) u64(c[f], `counters.${f}`);
      assert.ok(u64(c.sessionsOpened) >= 2n, show(res));

      const l = body.emitLatency;
      assert.equal(u64(l.count, 'emitLatency.count'), 4n, show(res));
      for (const f of ['p50Ms', 'p90Ms', 'p99Ms']) {
        assert.equal(typeof l[f], 'number', `emitLatency.${f}: ${show(res)}`);
        assert.ok(l[f] > 0 && l[f] < 10000, `emitLatency.${f} in (0, 10 s): ${show(res)}`);
      }
      assert.ok(l.p50Ms <= l.p90Ms && l.p90Ms <= l.p99Ms, `percentiles ordered: ${show(res)}`);
    });
  }
});

describe('GET /metrics', () => {
  it('Prometheus text with the counters of the known traffic', async () => {
    const res = await request(fx.port, { path: '/metrics' });
    assert.equal(res.status, 200, res.body);
    assert.match(res.headers['content-type'] ?? '', /^text\/plain/, 'Prometheus text format');
    const metrics = parsePrometheus(res.body);

    assert.equal(metrics.types.get('roomcast_emits_total'), 'counter');
    assert.equal(sampleValue(metrics, 'roomcast_emits_total', { transport: 'http' }), 3);
    assert.equal(sampleValue(metrics, 'roomcast_emits_total', { transport: 'grpc' }), 1);
    assert.equal(metrics.types.get('roomcast_deliveries_total'), 'counter');
    assert.ok(sampleValue(metrics, 'roomcast_deliveries_total') >= 8, 'deliveries >= 8');
    assert.equal(metrics.types.get('roomcast_sockets_connected'), 'gauge');
    assert.equal(sampleValue(metrics, 'roomcast_sockets_connected'), 2);

    const family = 'roomcast_emit_latency_seconds';
    assert.equal(metrics.types.get(family), 'histogram');
    const buckets = findSamples(metrics, `${family}_bucket`);
    assert.ok(buckets.length >= 2, 'histogram buckets');
    const bounds = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    assert.ok(bounds.every((v, i) => i === 0 || v > bounds[i - 1]), `increasing le: ${bounds}`);
    assert.equal(bounds.at(-1), Infinity, 'a +Inf bucket');
    assert.ok(buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1].value), 'cumulative buckets');
    const count = sampleValue(metrics, `${family}_count`);
    assert.equal(count, 4, 'one latency sample per emit');
    assert.equal(buckets.at(-1).value, count, '+Inf bucket equals _count');
    assert.ok(sampleValue(metrics, `${family}_sum`) > 0, '_sum > 0');

    for (const s of findSamples(metrics, 'roomcast_drops_total')) {
      assert.ok(typeof s.labels.reason === 'string' && s.value >= 0, JSON.stringify(s));
    }
  });

  it('is open without any API key and counts a new socket', async (t) => {
    const extra = await fx.connect({ transports: ['websocket'] });
    t.after(() => extra.close());
    const metrics = parsePrometheus((await request(fx.port, { path: '/metrics' })).body);
    assert.equal(sampleValue(metrics, 'roomcast_sockets_connected'), 3);
  });
});

describe('health without a database', () => {
  function assertHealth(res, status) {
    const body = okJson(res);
    assert.deepEqual(Object.keys(body).sort(), ['checks', 'status', 'uptimeSeconds'], show(res));
    assert.equal(body.status, status, show(res));
    u64(body.uptimeSeconds, 'uptimeSeconds');
    assert.ok(Array.isArray(body.checks), show(res));
    const names = body.checks.map((c) => c.name).sort();
    assert.deepEqual(names, ['memory', 'uptime'], `no database check without DATABASE_URL: ${show(res)}`);
    for (const check of body.checks) {
      assert.deepEqual(Object.keys(check).sort(), ['detail', 'latencyMs', 'name', 'status'], show(res));
      assert.ok(['SERVING', 'DEGRADED', 'NOT_SERVING'].includes(check.status), show(res));
      assert.equal(typeof check.latencyMs, 'number', show(res));
      assert.ok(check.latencyMs >= 0, show(res));
      assert.equal(typeof check.detail, 'string', show(res));
    }
    return body;
  }

  for (const path of ['/api/health', '/v1/health']) {
    it(`${path}: 200 SERVING with memory and uptime checks`, async () => {
      const body = assertHealth(await api(fx.port, 'GET', path), 'SERVING');
      assert.ok(body.checks.every((c) => c.status === 'SERVING'), JSON.stringify(body));
    });
  }

  it('/healthz and /readyz answer 200', async () => {
    assert.equal((await request(fx.port, { path: '/healthz' })).status, 200);
    assert.equal((await request(fx.port, { path: '/readyz' })).status, 200);
  });

  it('gRPC: Roomcast/Health and grpc.health.v1 report SERVING', async (t) => {
    const reflection = new Reflection(grpcTarget(fx.grpcPort));
    t.after(() => reflection.close());
    const roomcast = await reflection.service('roomcast.v1.Roomcast');
    t.after(() => roomcast.close());
    const res = await roomcast.call('Health');
    assert.equal(res.status, 'SERVING');
    assert.deepEqual(res.checks.map((c) => c.name).sort(), ['memory', 'uptime']);
    const health = new HealthClient(grpcTarget(fx.grpcPort));
    t.after(() => health.close());
    assert.equal(await health.check(''), 'SERVING');
    assert.equal(await health.check('roomcast.v1.Roomcast'), 'SERVING');
  });

  it('memory over --memory_soft_limit_mb: 200 DEGRADED, the memory check says why', async (t) => {
    const server = await startControl(['--memory_soft_limit_mb=1']);
    t.after(() => stopServer(server));
    const res = await api(server.port, 'GET', '/api/health');
    const body = assertHealth(res, 'DEGRADED');
    const memory = body.checks.find((c) => c.name === 'memory');
    assert.equal(memory.status, 'DEGRADED', show(res));
    assert.notEqual(memory.detail, '', `the memory check says why: ${show(res)}`);
    assert.equal(body.checks.find((c) => c.name === 'uptime').status, 'SERVING');
    const health = new HealthClient(grpcTarget(server.grpcPort));
    t.after(() => health.close());
    assert.equal(await health.check('roomcast.v1.Roomcast'), 'SERVING', 'DEGRADED still serves');
  });
});

describe('GET /v1/status?topRooms=N', () => {
  it('topRooms limits the list (query parameter), largest first', async (t) => {
    const extra = await fx.connect({ transports: ['websocket'], auth: { rooms: ['small-room'] } });
    t.after(() => extra.close());
    for (const q of ['topRooms=1', 'top_rooms=1']) {
      const body = okJson(await api(fx.port, 'GET', `/v1/status?${q}`));
      assert.deepEqual(body.topRooms, [{ namespace: '/', room: 'metered', members: '2' }], q);
      assert.equal(body.rooms, '2');
    }
    const all = okJson(await api(fx.port, 'GET', '/api/socket/status'));
    assert.deepEqual(all.topRooms, [
      { namespace: '/', room: 'metered', members: '2' },
      { namespace: '/', room: 'small-room', members: '1' },
    ]);
  });
});

it('a status call on a fresh server has zero counters as strings', async (t) => {
  const server = await startControl();
  t.after(() => stopServer(server));
  const body = okJson(await api(server.port, 'GET', '/api/socket/status'));
  assert.equal(body.connections, '0');
  assert.equal(body.rooms, '0');
  assert.deepEqual(body.topRooms, []);
  assert.equal(body.counters.deliveries, '0');
  assert.equal(body.emitLatency.count, '0');
  // Keep the traffic sockets referenced until the end of the file.
  assert.ok(traffic.a && traffic.b);
});

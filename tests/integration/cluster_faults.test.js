// Faults of a cluster on Redis: Redis going away and coming back, and a node
// killed. Emits fail cleanly before delivering anything, browsers stay
// connected, and the cluster heals without restarting a node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, join } from '../support/cluster.js';
import { api, collect, collected, emitHttp, okJson, pollUntil, show } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { HealthClient, grpcTarget } from '../support/grpc.js';
import { redisAvailable } from '../support/redis.js';
import { sleep } from '../support/sio.js';

const redisCheck = (body) => body?.checks?.find((check) => check.name === 'redis');

describe('a cluster when Redis goes away and comes back', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const cluster = useCluster({ nodes: 2 });
  let health;
  before(() => {
    health = new HealthClient(grpcTarget(cluster.nodes[0].grpcPort));
  });
  after(() => health?.close());

  it('healthy: a redis check with its latency', async () => {
    const body = okJson(await api(cluster.port(0), 'GET', '/api/health'));
    assert.equal(body.status, 'SERVING');
    assert.equal(redisCheck(body)?.status, 'SERVING', JSON.stringify(body));
    assert.equal(typeof redisCheck(body).latencyMs, 'number');
  });

  it('Redis down: emits fail with 503 UNAVAILABLE before delivering, health says why, browsers stay', async () => {
    const local = await cluster.connect(0);
    const remote = await cluster.connect(1);
    await join(local, 'outage');
    await join(remote, 'outage');
    const seen = [local, remote].map((socket) => collect(socket, 'during'));
    const drops = [local, remote].map((socket) => {
      const reasons = [];
      socket.on('disconnect', (reason) => reasons.push(reason));
      return reasons;
    });
    await cluster.redis.stop();
    const res = await pollUntil(async () => {
      const r = await api(cluster.port(0), 'POST', '/api/socket/emit',
        { room: 'outage', event: 'during', data: 1, idempotencyKey: 'outage-1' });
      return r.status === 503 ? r : null;
    }, { timeoutMs: 5000, intervalMs: 100, what: 'emits to fail while Redis is down' });
    assert.equal(res.json?.code, 14, show(res));  // UNAVAILABLE
    assert.match(res.json?.message ?? '', /Redis is unreachable.*nothing was delivered/, show(res));
    const down = await api(cluster.port(0), 'GET', '/api/health');
    assert.equal(down.status, 503, show(down));
    assert.equal(redisCheck(down.json)?.status, 'NOT_SERVING', show(down));
    assert.notEqual(redisCheck(down.json).detail, '', show(down));
    await pollUntil(async () => (await health.check('roomcast.v1.Roomcast')) === 'NOT_SERVING',
      { timeoutMs: 8000, what: 'grpc.health.v1 NOT_SERVING' });
    // A join cannot be promised the room's traffic: refused, and undone.
    const refused = await join(remote, 'new-room');
    assert.equal(refused.ok, false, JSON.stringify(refused));
    assert.equal(refused.error.code, 'unavailable');
    assert.equal((await api(cluster.port(0), 'GET', '/readyz')).status, 200, 'browsers are still served');
    await sleep(500);
    assert.deepEqual(seen.map((list) => list.length), [0, 0], 'a refused emit delivered nothing, even locally');
    assert.deepEqual(drops, [[], []], 'browsers stayed connected');
    cluster.redis.outage = { seen, drops, local, remote };
  });

  it('Redis back: the cluster delivers again within 10 s with no restart, and the retry delivers once', async () => {
    const { seen, drops, remote } = cluster.redis.outage;
    await cluster.redis.start();
    const started = Date.now();
    // The retry of the refused emit, with the same key.
    await pollUntil(async () => {
      const r = await api(cluster.port(0), 'POST', '/api/socket/emit',
        { room: 'outage', event: 'during', data: 1, idempotencyKey: 'outage-1' });
      return r.status === 200;
    }, { timeoutMs: 10000, intervalMs: 100, what: 'emits to work again' });
    // Resubscribed: the remote node receives the room again.
    await pollUntil(() => seen[1].length === 1, { timeoutMs: 10000 - (Date.now() - started), intervalMs: 50,
      what: 'the other node to deliver again' });
    assert.ok(Date.now() - started < 10000, `back within 10 s (${Date.now() - started} ms)`);
    assert.deepEqual((await collected(seen[0], 1, { settleMs: 500 })).length, 1, 'delivered exactly once');
    assert.deepEqual(seen[1], [1]);
    assert.equal(await emitHttp(cluster.port(0), { room: 'outage', event: 'during', data: 1, idempotencyKey: 'outage-1' },
      { duplicate: true }).then((r) => r.duplicate), true);
    assert.deepEqual(drops, [[], []], 'nobody was disconnected');
    assert.equal((await join(remote, 'new-room')).ok, true, 'joins work again');
    const body = okJson(await api(cluster.port(1), 'GET', '/api/health'));
    assert.equal(redisCheck(body)?.status, 'SERVING');
    assert.ok(await cluster.metric(1, 'roomcast_redis_reconnects_total') >= 1);
    assert.ok(await cluster.metric(0, 'roomcast_redis_publish_failures_total') >= 1);
    await pollUntil(async () => (await health.check('roomcast.v1.Roomcast')) === 'SERVING',
      { timeoutMs: 8000, what: 'grpc.health.v1 SERVING again' });
    cluster.closeSockets();
  });

  it('Redis paused (not closed): the PING watchdog notices and emits fail instead of hanging', async () => {
    cluster.redis.pause();
    try {
      const res = await pollUntil(async () => {
        const r = await api(cluster.port(1), 'GET', '/api/health', undefined, { timeoutMs: 8000 });
        return r.status === 503 ? r : null;
      }, { timeoutMs: 10000, intervalMs: 250, what: 'health to notice a silent Redis' });
      assert.match(redisCheck(res.json)?.detail ?? '', /PING|connect/i, show(res));
      const emit = await api(cluster.port(1), 'POST', '/api/socket/emit', { event: 'x' }, { timeoutMs: 8000 });
      assert.equal(emit.status, 503, show(emit));
    } finally {
      cluster.redis.resume();
    }
    await pollUntil(async () => (await api(cluster.port(1), 'GET', '/api/health')).status === 200,
      { timeoutMs: 10000, what: 'health back after the pause' });
  });
});

describe('a cluster when a node is killed', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const cluster = useCluster({ nodes: 3 });

  it('the others keep delivering and drop it from Status within 15 s', async () => {
    await pollUntil(async () => (await cluster.status(0)).nodes.length === 3, { what: 'three nodes' });
    const victim = (await cluster.status(2)).nodeId;
    const survivor = await cluster.connect(1);
    await join(survivor, 'after-kill');
    await cluster.connect(2);
    await stopServer(cluster.nodes[2], { signal: 'SIGKILL' });
    const killed = Date.now();
    const seen = collect(survivor, 'still');
    await emitHttp(cluster.port(0), { room: 'after-kill', event: 'still', data: 'alive' });
    assert.deepEqual(await collected(seen, 1), ['alive']);
    const status = await pollUntil(async () => {
      const body = await cluster.status(0);
      return body.nodes.every((node) => node.id !== victim) ? body : null;
    }, { timeoutMs: 15000, intervalMs: 100, what: 'the killed node to leave Status' });
    assert.ok(Date.now() - killed < 15000);
    assert.equal(status.nodes.length, 2);
    assert.equal(status.cluster.sockets, '1', JSON.stringify(status.cluster));
    cluster.closeSockets();
  });
});

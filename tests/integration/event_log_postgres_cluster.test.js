// The durable log under a cluster: PostgreSQL numbers (commits) each event,
// then Redis carries it to the other nodes. A publish that fails after the
// commit answers UNAVAILABLE, and the retry with the same idempotency key
// publishes the committed event instead of logging it twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster, join } from '../support/cluster.js';
import { api, collect, collected, okJson, pollUntil, show } from '../support/control.js';
import { pgAvailable, startPostgres } from '../support/postgres.js';
import { redisAvailable } from '../support/redis.js';
import { sleep } from '../support/sio.js';

const skip = (!pgAvailable() && 'PostgreSQL 15 is not installed') || (!redisAvailable() && 'redis-server is not installed');

describe('--event_log=postgres with REDIS_URL', { skip }, () => {
  let pg;
  const env = {};
  before(async () => {
    pg = await startPostgres();
    env.DATABASE_URL = pg.url;
  });
  // DATABASE_URL comes from the environment the nodes inherit.
  const cluster = useCluster({ nodes: 2, flags: ['--event_log=postgres'], env });
  after(async () => pg?.destroy());

  const emit = (node, body) => api(cluster.port(node), 'POST', '/v1/emit', body);
  const history = async (node, query = '') =>
    okJson(await api(cluster.port(node), 'GET', `/v1/history?limit=1000${query}`)).events ?? [];

  it('offsets from both nodes are one sequence, each event delivered once everywhere', async () => {
    const far = await cluster.connect(1);
    await join(far, 'seq');
    const seen = collect(far, 'n');
    const offsets = [];
    for (let i = 0; i < 40; ++i) {
      const res = await emit(i % 2, { room: 'seq', event: 'n', data: i });
      offsets.push(BigInt(okJson(res).offset));
    }
    const sorted = [...offsets].sort((a, b) => (a < b ? -1 : 1));
    for (let i = 1; i < sorted.length; ++i) assert.equal(sorted[i], sorted[i - 1] + 1n, `consecutive: ${sorted}`);
    assert.deepEqual(offsets, sorted, 'in the order they were answered');
    const got = await collected(seen, 40);
    assert.deepEqual(got, [...Array(40).keys()]);
    const logged = (await history(0, '&room=seq')).map((e) => BigInt(e.offset));
    assert.deepEqual(logged, sorted);
  });

  it('Redis down after the commit: 503, then the retry with the same key publishes the committed event once', async () => {
    const far = await cluster.connect(1);
    await join(far, 'retry');
    const seen = collect(far, 'r');
    await cluster.redis.stop();
    const failed = await pollUntil(async () => {
      const res = await emit(0, { room: 'retry', event: 'r', data: 'once', idempotencyKey: 'retry-1' });
      return res.status === 503 ? res : null;
    }, { timeoutMs: 5000, intervalMs: 100, what: 'an emit to fail while Redis is down' });
    assert.equal(failed.json?.code, 14, show(failed));
    const committed = (await history(0, '&room=retry')).filter((e) => e.data === 'once');
    assert.equal(committed.length, 1, 'committed before the publish failed');
    await cluster.redis.start();
    const retried = await pollUntil(async () => {
      const res = await emit(0, { room: 'retry', event: 'r', data: 'once', idempotencyKey: 'retry-1' });
      return res.status === 200 ? okJson(res) : null;
    }, { timeoutMs: 15000, intervalMs: 250, what: 'the retry to go through once Redis is back' });
    assert.equal(retried.offset, committed[0].offset, 'the committed event, not a second one');
    assert.equal(retried.duplicate, false, 'this time it was published');
    const again = okJson(await emit(1, { room: 'retry', event: 'r', data: 'once', idempotencyKey: 'retry-1' }));
    assert.equal(again.duplicate, true, JSON.stringify(again));
    assert.equal(again.offset, committed[0].offset);
    await sleep(500);
    assert.equal(seen.filter((data) => data === 'once').length, 1, `delivered once: ${JSON.stringify(seen)}`);
    assert.equal((await history(1, '&room=retry')).filter((e) => e.data === 'once').length, 1, 'logged once');
  });
});

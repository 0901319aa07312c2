// Health against a real PostgreSQL 15 on loopback: with DATABASE_URL set,
// /api/health runs a database check (SELECT 1, with its latency); when the
// database stops it turns 503 NOT_SERVING naming the database, while emits
// keep working and /readyz stays ready; grpc.health.v1 follows; when the
// database returns, health is back to 200.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, emitHttp, okJson, pollUntil, show, startControl } from '../support/control.js';
import { stopServer } from '../support/fixtures.js';
import { HealthClient, grpcTarget } from '../support/grpc.js';
import { kPgBin, pgAvailable, startPostgres } from '../support/postgres.js';
import { request } from '../support/raw.js';
import { baseUrl, connect, waitFor } from '../support/sio.js';

const skip = pgAvailable() ? false : `PostgreSQL 15 is not installed (${kPgBin}/initdb missing: apt-get install postgresql)`;

describe('health with DATABASE_URL against a real PostgreSQL', { skip }, () => {
  const ctx = {};

  before(async () => {
    ctx.pg = await startPostgres();
    ctx.server = await startControl(['--health_interval_ms=250'], { env: { DATABASE_URL: ctx.pg.url } });
    ctx.socket = await connect(baseUrl(ctx.server.port), { transports: ['websocket'], auth: { rooms: ['pg-room'] } });
    ctx.health = new HealthClient(grpcTarget(ctx.server.grpcPort));
  });

  after(async () => {
    ctx.socket?.close();
    ctx.health?.close();
    await stopServer(ctx.server);
    await ctx.pg?.destroy();
  });

  const health = () => api(ctx.server.port, 'GET', '/api/health');
  const databaseCheck = (body) => body.checks?.find((c) => c.name === 'database');

  async function assertEmitWorks(tag) {
    const got = waitFor(ctx.socket, 'pg-event');
    await emitHttp(ctx.server.port, { room: 'pg-room', event: 'pg-event', data: tag }, { recipients: 1 });
    assert.equal(await got, tag);
  }

  it('healthy: 200 SERVING with a database check and its latency', async () => {
    const res = await health();
    const body = okJson(res);
    assert.equal(body.status, 'SERVING', show(res));
    const db = databaseCheck(body);
    assert.ok(db, `a database check: ${show(res)}`);
    assert.equal(db.status, 'SERVING', show(res));
    assert.equal(typeof db.latencyMs, 'number', show(res));
    assert.ok(db.latencyMs > 0 && db.latencyMs < 5000, `latencyMs > 0: ${show(res)}`);
    assert.deepEqual(body.checks.map((c) => c.name).sort(), ['database', 'memory', 'uptime'], show(res));
    okJson(await api(ctx.server.port, 'GET', '/v1/health'));
    assert.equal(await ctx.health.check('roomcast.v1.Roomcast'), 'SERVING');
    assert.ok(!res.body.includes(ctx.pg.url), 'the URL is not echoed');
    await assertEmitWorks('db up');
  });

  it('database stopped: 503 NOT_SERVING naming the database; emits keep working; /readyz stays 200', async () => {
    await ctx.pg.stop();
    const res = await pollUntil(async () => {
      const r = await health();
      return r.status === 503 ? r : false;
    }, { timeoutMs: 8000, intervalMs: 200, what: '/api/health to turn 503' });
    assert.match(res.headers['content-type'] ?? '', /application\/json/, show(res));
    const body = res.json;
    assert.equal(body?.status, 'NOT_SERVING', show(res));
    const db = databaseCheck(body);
    assert.ok(db, `the database check is listed: ${show(res)}`);
    assert.equal(db.status, 'NOT_SERVING', show(res));
    assert.equal(typeof db.detail, 'string');
    assert.notEqual(db.detail.trim(), '', `the database check names the failure: ${show(res)}`);
    for (const c of body.checks.filter((x) => x.name !== 'database')) assert.equal(c.status, 'SERVING', show(res));
    assert.equal((await api(ctx.server.port, 'GET', '/v1/health')).status, 503);

    await assertEmitWorks('db down');
    const readyz = await request(ctx.server.port, { path: '/readyz' });
    assert.equal(readyz.status, 200, `browsers are still served: ${readyz.body}`);
    assert.equal((await request(ctx.server.port, { path: '/healthz' })).status, 200);

    await pollUntil(async () => (await ctx.health.check('roomcast.v1.Roomcast')) === 'NOT_SERVING', {
      timeoutMs: 8000, intervalMs: 200, what: 'grpc.health.v1 Check("roomcast.v1.Roomcast") to report NOT_SERVING',
    });
    await assertEmitWorks('still down');
  });

  it('database back: 200 SERVING again within seconds, gRPC health too', async () => {
    await ctx.pg.start();
    const res = await pollUntil(async () => {
      const r = await health();
      return r.status === 200 ? r : false;
    }, { timeoutMs: 10000, intervalMs: 250, what: '/api/health to return to 200' });
    const body = okJson(res);
    assert.equal(body.status, 'SERVING', show(res));
    assert.equal(databaseCheck(body)?.status, 'SERVING', show(res));
    assert.ok(databaseCheck(body).latencyMs > 0, show(res));
    await pollUntil(async () => (await ctx.health.check('roomcast.v1.Roomcast')) === 'SERVING', {
      timeoutMs: 8000, intervalMs: 200, what: 'grpc.health.v1 to report SERVING again',
    });
    await assertEmitWorks('db back');
  });
});

describe('an unreachable DATABASE_URL from the start', () => {
  it('starts anyway and answers 503 with the database check NOT_SERVING', async (t) => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const server = await startControl([], { env: { DATABASE_URL: 'postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres' } });
    t.after(() => stopServer(server));
    const res = await api(server.port, 'GET', '/api/health');
    assert.equal(res.status, 503, show(res));
    assert.equal(res.json?.status, 'NOT_SERVING', show(res));
    const db = res.json.checks.find((c) => c.name === 'database');
    assert.equal(db?.status, 'NOT_SERVING', show(res));
    assert.ok(!res.body.includes('s3cret-pw'), `the password is not echoed: ${show(res)}`);
    assert.ok(!server.output().includes('s3cret-pw'), 'the password is not logged');
    okJson(await api(server.port, 'POST', '/v1/emit', { room: 'r', event: 'e', data: 1 }));
  });
});

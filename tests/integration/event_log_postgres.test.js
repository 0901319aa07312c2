// The PostgreSQL event log (--event_log=postgres, DATABASE_URL) against a real
// PostgreSQL 15 on loopback: roomcastd creates its schema at startup and
// refuses a newer one; an emit is answered once its event is committed, with
// consecutive offsets per namespace (also for 200 at once: group commit);
// History reads it back over HTTP and gRPC; idempotency keys; retention by
// count and by age; PostgreSQL going away (emits fail before delivering,
// health NOT_SERVING, nothing acknowledged is lost) and roomcastd restarted
// or SIGKILLed on the same database (history intact, offsets never reused).
// Each test has a database of its own on one PostgreSQL cluster.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, api, assertRpcError, collect, collected, okJson, pollUntil, show, startControl } from '../support/control.js';
import { runToExit, stopServer } from '../support/fixtures.js';
import { HealthClient, Reflection, grpcError, grpcTarget } from '../support/grpc.js';
import {
  assertLoggedEmit, consecutive, emitLogged, grpcEmitResult, historyAll, historyGrpc, historyHttp, mapLimit, offsetsOf,
} from '../support/history.js';
import { createDatabase, kPgBin, pgAvailable, psql, startPostgres } from '../support/postgres.js';
import { baseUrl, closeAll, connect, sleep } from '../support/sio.js';

const skip = pgAvailable() ? false : `PostgreSQL 15 is not installed (${kPgBin}/initdb missing: apt-get install postgresql)`;

const byOffset = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const what = (e) => ({ offset: String(e.offset), epoch: e.epoch, event: e.event, data: e.data, args: e.args, rooms: [...e.rooms].sort(), exceptRooms: [...e.exceptRooms].sort() });

describe('the PostgreSQL event log', { skip }, () => {
  const ctx = { servers: [], sockets: [], databases: 0 };

  before(async () => {
    ctx.pg = await startPostgres();
  });

  after(async () => {
    closeAll(ctx.sockets);
    for (const server of ctx.servers) await stopServer(server);
    await ctx.pg?.destroy();
  });

  /** A database of its own: { name, url }. */
  async function freshDatabase(tag) {
    ctx.databases += 1;
    const name = `rc_${tag}_${ctx.databases}`;
    return { name, url: await createDatabase(ctx.pg, name) };
  }

  /** psql on `db`; resolves the rows, each an array of its `|`-separated fields. */
  async function rows(db, sql) {
    const out = await psql(ctx.pg, sql, { database: db.name });
    return out.split('\n').filter((line) => line !== '').map((line) => line.split('|'));
  }
  const scalar = async (db, sql) => (await rows(db, sql))[0]?.[0];

  /** roomcastd on `db` with the postgres log; stopped after the test. */
  async function startOn(t, db, flags = [], options = {}) {
    const server = await startControl(['--event_log=postgres', `--database_url=${db.url}`, '--health_interval_ms=250', ...flags], options);
    ctx.servers.push(server);
    t.after(() => stopServer(server));
    return server;
  }

  async function grpcFor(t, server) {
    const reflection = new Reflection(grpcTarget(server.grpcPort));
    t.after(() => reflection.close());
    const client = await reflection.service('roomcast.v1.Roomcast');
    t.after(() => client.close());
    return client;
  }

  async function socketIn(t, server, rooms, nsp = '') {
    const socket = await connect(baseUrl(server.port) + nsp, { transports: ['websocket'], auth: { rooms } });
    ctx.sockets.push(socket);
    t.after(() => socket.close());
    return socket;
  }

  /** PostgreSQL is running again after the test, whatever happened in it. */
  function restartPostgresAfter(t) {
    t.after(async () => {
      if (!ctx.pg.running) await ctx.pg.start();
    });
  }

  it('creates its schema at startup; an emit is answered once its event is committed; History reads it back', async (t) => {
    const db = await freshDatabase('schema');
    const server = await startOn(t, db, ['--namespaces=/,/other']);
    const tables = (await rows(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'roomcast%' ORDER BY 1")).map((r) => r[0]);
    for (const table of ['roomcast_events', 'roomcast_logs', 'roomcast_schema_migrations']) assert.ok(tables.includes(table), `${table} in ${JSON.stringify(tables)}`);
    const [migrations, version, stamped] = (await rows(db, 'SELECT count(*), max(version), bool_and(applied_at IS NOT NULL) FROM roomcast_schema_migrations'))[0];
    assert.ok(Number(migrations) >= 1 && Number(version) >= 1, `a schema version is recorded: ${migrations} rows, max ${version}`);
    assert.equal(stamped, 't', 'applied_at is set');
    const columns = async (table) => (await rows(db, `SELECT column_name FROM information_schema.columns WHERE table_name = '${table}'`)).map((r) => r[0]);
    for (const c of ['nsp', 'epoch', 'last_offset']) assert.ok((await columns('roomcast_logs')).includes(c), `roomcast_logs.${c}`);
    for (const c of ['nsp', 'offset']) assert.ok((await columns('roomcast_events')).includes(c), `roomcast_events.${c}`);

    const socket = await socketIn(t, server, ['p1']);
    const seen = collect(socket, 'pg.e');
    const requests = [
      { room: 'p1', event: 'pg.e', data: { n: 1, s: 'ünïcode ✓', list: [null, true, 2.5] } },
      { rooms: ['p1', 'p2'], exceptRooms: ['p3'], event: 'pg.e', data: 'two' },
      { event: 'pg.all', data: [1, 2, 3] },
    ];
    const answers = [];
    for (const request of requests) {
      const a = await emitLogged(server.port, request);
      // Answered once committed: the row is there the moment the answer is.
      assert.equal(await scalar(db, `SELECT count(*) FROM roomcast_events WHERE nsp = '/' AND "offset" = ${a.offset}`), '1',
        `offset ${a.offset} is committed when its emit is answered`);
      answers.push(a);
    }
    assert.deepEqual(answers.map((a) => String(a.offset)), consecutive(answers[0].offset, 3), 'consecutive offsets');
    assert.ok(answers.every((a) => a.epoch === answers[0].epoch), 'one epoch');
    assert.deepEqual(await collected(seen, 2), [requests[0].data, 'two'], 'delivered after the commit');
    const other = await emitLogged(server.port, { namespace: '/other', event: 'o', data: 'other' });
    assert.deepEqual(await rows(db, 'SELECT nsp, epoch, last_offset FROM roomcast_logs ORDER BY nsp'), [
      ['/', answers[0].epoch, String(answers[2].offset)],
      ['/other', other.epoch, String(other.offset)],
    ], 'one log row per namespace with its last offset');

    const events = await historyHttp(server.port, {});
    assert.deepEqual(events.map(what), requests.map((r, i) => ({
      offset: String(answers[i].offset), epoch: answers[i].epoch, event: r.event, data: r.data, args: [r.data],
      rooms: [...(r.room ? [r.room] : []), ...(r.rooms ?? [])].sort(), exceptRooms: [...(r.exceptRooms ?? [])].sort(),
    })));
    const roomcast = await grpcFor(t, server);
    assert.deepEqual((await historyGrpc(roomcast, {})).map(what), events.map(what), 'the same over gRPC');
    assert.deepEqual(offsetsOf(await historyHttp(server.port, { room: 'p2' })), [String(answers[1].offset), String(answers[2].offset)]);
    assert.deepEqual(offsetsOf(await historyHttp(server.port, { reverse: true, limit: 2 })), [String(answers[2].offset), String(answers[1].offset)]);
    assert.deepEqual(offsetsOf(await historyHttp(server.port, { afterOffset: String(answers[0].offset) })), offsetsOf(events).slice(1));
    assert.deepEqual((await historyHttp(server.port, { namespace: '/other' })).map((e) => e.data), ['other']);

    // Volatile: delivered, not logged, no offset taken.
    const v = await emitLogged(server.port, { room: 'p1', event: 'pg.e', data: 'volatile', volatile: true });
    assert.equal(v.offset, 0n);
    assert.equal(await scalar(db, "SELECT count(*) FROM roomcast_events WHERE nsp = '/'"), '3', 'no row for a volatile event');
    const next = await emitLogged(server.port, { room: 'p1', event: 'pg.e', data: 'next' });
    assert.equal(next.offset, answers[2].offset + 1n);
  });

  it('a schema version newer than the binary stops startup naming it; the data is left alone', async (t) => {
    const db = await freshDatabase('newer');
    const first = await startOn(t, db);
    const a = await emitLogged(first.port, { event: 'kept', data: 1 });
    await stopServer(first, { signal: 'SIGTERM', timeoutMs: 10000 });
    await psql(ctx.pg, 'INSERT INTO roomcast_schema_migrations (version, applied_at) VALUES (1000, now())', { database: db.name });
    const run = await runToExit(['--port=0', '--grpc_port=0', '--event_log=postgres', `--database_url=${db.url}`], { timeoutMs: 15000 });
    const output = run.stdout + run.stderr;
    assert.equal(run.timedOut, false, `exits on its own:\n${output}`);
    assert.notEqual(run.code, 0, `non-zero exit (code ${run.code}, signal ${run.signal}):\n${output}`);
    assert.match(output, /schema version 1000/, output);
    assert.equal(await scalar(db, 'SELECT max(version) FROM roomcast_schema_migrations'), '1000', 'no downgrade');
    assert.equal(await scalar(db, 'SELECT count(*) FROM roomcast_events'), '1', 'the events are untouched');

    await psql(ctx.pg, 'DELETE FROM roomcast_schema_migrations WHERE version = 1000', { database: db.name });
    const again = await startOn(t, db);
    assert.deepEqual(offsetsOf(await historyHttp(again.port, {})), [String(a.offset)], 'a known version starts again, history intact');
  });

  it('ROOMCAST_EVENT_LOG=postgres and DATABASE_URL from the environment', async (t) => {
    const db = await freshDatabase('env');
    const server = await startControl(['--health_interval_ms=250'], { env: { ROOMCAST_EVENT_LOG: 'postgres', DATABASE_URL: db.url } });
    ctx.servers.push(server);
    t.after(() => stopServer(server));
    const a = await emitLogged(server.port, { room: 'env', event: 'env', data: 'from env' });
    assert.equal(await scalar(db, `SELECT count(*) FROM roomcast_events WHERE "offset" = ${a.offset}`), '1', 'logged in PostgreSQL');
    assert.deepEqual((await historyHttp(server.port, {})).map((e) => e.data), ['from env']);
  });

  it('a repeated idempotencyKey answers duplicate with the first offset, delivers once, is logged once', async (t) => {
    const db = await freshDatabase('idem');
    const server = await startOn(t, db);
    const roomcast = await grpcFor(t, server);
    const socket = await socketIn(t, server, ['idem']);
    const seen = collect(socket, 'once');
    const request = { room: 'idem', event: 'once', data: 'payload', idempotencyKey: 'pg-idem-1' };
    const first = await emitLogged(server.port, request, { duplicate: false });
    const second = await emitLogged(server.port, request, { duplicate: true });
    assert.equal(second.offset, first.offset, 'the first offset');
    assert.equal(second.epoch, first.epoch);
    const third = grpcEmitResult(await roomcast.call('Emit', request), { duplicate: true });
    assert.equal(third.offset, first.offset, 'over gRPC too');
    const fresh = await emitLogged(server.port, { ...request, idempotencyKey: 'pg-idem-2' }, { duplicate: false });
    assert.equal(fresh.offset, first.offset + 1n, 'a duplicate takes no offset');
    assert.deepEqual(await collected(seen, 2, { settleMs: 400 }), ['payload', 'payload'], 'delivered once per key');
    const events = await historyHttp(server.port, {});
    assert.deepEqual(offsetsOf(events), [String(first.offset), String(fresh.offset)], 'logged once');
    assert.equal(await scalar(db, "SELECT count(*) FROM roomcast_events WHERE nsp = '/'"), '2');
  });

  it('group commit: 200 concurrent emits (HTTP), then 200 (gRPC), all succeed with distinct consecutive offsets', async (t) => {
    const db = await freshDatabase('group');
    const server = await startOn(t, db);
    const roomcast = await grpcFor(t, server);
    const n = 200;
    const viaHttp = await Promise.all(Array.from({ length: n }, async (_, i) => {
      const res = await api(server.port, 'POST', '/v1/emit', { room: `g${i % 7}`, event: 'burst', data: { i } }, { timeoutMs: 20000 });
      return { i, ...assertLoggedEmit(okJson(res)) };
    }));
    const httpOffsets = viaHttp.map((a) => a.offset).sort(byOffset);
    assert.deepEqual(httpOffsets.map(String), consecutive(httpOffsets[0], n), 'distinct and consecutive');
    const viaGrpc = await Promise.all(Array.from({ length: n }, async (_, k) => {
      const i = n + k;
      const res = await roomcast.call('Emit', { room: `g${i % 7}`, event: 'burst', data: { i } }, { timeoutMs: 20000 });
      return { i, ...grpcEmitResult(res) };
    }));
    const grpcOffsets = viaGrpc.map((a) => a.offset).sort(byOffset);
    assert.deepEqual(grpcOffsets.map(String), consecutive(httpOffsets[0] + BigInt(n), n), 'and on after the first burst');
    const all = [...viaHttp, ...viaGrpc];
    assert.ok(all.every((a) => a.epoch === all[0].epoch), 'one epoch');

    const events = await historyAll(server.port, {});
    assert.deepEqual(offsetsOf(events), consecutive(httpOffsets[0], 2 * n), 'History holds every one, oldest first');
    const indexAt = new Map(all.map((a) => [String(a.offset), a.i]));
    for (const e of events) assert.deepEqual(e.data, { i: indexAt.get(String(e.offset)) }, `offset ${e.offset} holds its own emit`);
    assert.equal(await scalar(db, "SELECT count(*) FROM roomcast_events WHERE nsp = '/'"), String(2 * n));
  });

  it('PostgreSQL down: emits fail with 503 / UNAVAILABLE before delivering, health NOT_SERVING; back: emits work again within seconds', async (t) => {
    restartPostgresAfter(t);
    const db = await freshDatabase('down');
    const server = await startOn(t, db);
    const roomcast = await grpcFor(t, server);
    const health = new HealthClient(grpcTarget(server.grpcPort));
    t.after(() => health.close());
    const socket = await socketIn(t, server, ['down']);
    const seen = collect(socket, 'during');
    const drops = [];
    socket.on('disconnect', (reason) => drops.push(reason));
    const ok = [];  // data of every emit answered 200
    const refused = [];  // data of every emit answered 503
    const emit = async (data) => {
      const res = await api(server.port, 'POST', '/v1/emit', { room: 'down', event: 'during', data }, { timeoutMs: 10000 });
      if (res.status === 200) ok.push({ data, ...assertLoggedEmit(res.json) });
      else if (res.status === 503) refused.push(data);
      return res;
    };
    assert.equal((await emit('before')).status, 200);
    grpcEmitResult(await roomcast.call('Emit', { room: 'down', event: 'during', data: 'before grpc' }));
    ok.push({ data: 'before grpc' });

    await ctx.pg.stop();
    let attempt = 0;
    const first503 = await pollUntil(async () => {
      const res = await emit(`down-${attempt++}`);
      return res.status === 503 ? res : null;
    }, { timeoutMs: 8000, intervalMs: 100, what: 'emits to fail while PostgreSQL is down' });
    assertRpcError(first503, 503, { code: Code.UNAVAILABLE });
    for (let i = 0; i < 3; ++i) {
      const res = await emit(`down-again-${i}`);
      assertRpcError(res, 503, { code: Code.UNAVAILABLE });
    }
    const err = await grpcError(roomcast.call('Emit', { room: 'down', event: 'during', data: 'down grpc' }, { timeoutMs: 8000 }));
    assert.equal(err.code, Code.UNAVAILABLE, err.message);
    // A batch: the item's own UNAVAILABLE error, or the whole call refused with 503.
    const batch = await api(server.port, 'POST', '/v1/emit:batch', { emits: [{ room: 'down', event: 'during', data: 'down batch' }] }, { timeoutMs: 10000 });
    if (batch.status === 200) assert.equal(batch.json?.results?.[0]?.error?.code, 'UNAVAILABLE', show(batch));
    else assertRpcError(batch, 503, { code: Code.UNAVAILABLE });

    const down = await pollUntil(async () => {
      const r = await api(server.port, 'GET', '/api/health');
      return r.status === 503 ? r : null;
    }, { timeoutMs: 8000, intervalMs: 200, what: '/api/health to turn 503' });
    assert.equal(down.json?.status, 'NOT_SERVING', show(down));
    assert.equal(down.json.checks?.find((c) => c.name === 'database')?.status, 'NOT_SERVING', show(down));
    await pollUntil(async () => (await health.check('roomcast.v1.Roomcast')) === 'NOT_SERVING',
      { timeoutMs: 8000, what: 'grpc.health.v1 NOT_SERVING' });

    await sleep(500);
    const delivered = () => [...seen].sort();
    assert.deepEqual(delivered(), ok.map((o) => o.data).sort(), `a refused emit delivers nothing (refused: ${JSON.stringify(refused)})`);
    assert.deepEqual(drops, [], 'browsers stay connected');

    await ctx.pg.start();
    const restarted = Date.now();
    let back = 0;
    await pollUntil(async () => (await emit(`back-${back++}`)).status === 200,
      { timeoutMs: 15000, intervalMs: 200, what: 'emits to work again after PostgreSQL returns' });
    const took = Date.now() - restarted;
    assert.ok(took < 15000, `back within seconds (${took} ms)`);
    for (let i = 0; i < 3; ++i) assert.equal((await emit(`after-${i}`)).status, 200);
    grpcEmitResult(await roomcast.call('Emit', { room: 'down', event: 'during', data: 'after grpc' }));
    ok.push({ data: 'after grpc' });
    await pollUntil(async () => (await api(server.port, 'GET', '/api/health')).status === 200,
      { timeoutMs: 10000, what: '/api/health to return to 200' });

    await collected(seen, ok.length, { settleMs: 500 });
    assert.deepEqual(delivered(), ok.map((o) => o.data).sort(), 'exactly the acknowledged emits were delivered');
    const events = await historyAll(server.port, {});
    const count = (data) => events.filter((e) => e.data === data).length;
    for (const o of ok) assert.equal(count(o.data), 1, `acknowledged ${JSON.stringify(o.data)} is in History once`);
    for (const o of ok.filter((x) => x.offset !== undefined)) {
      assert.equal(events.find((e) => e.data === o.data)?.offset, o.offset, `${o.data} at the offset its answer gave`);
    }
    for (const data of refused) assert.ok(count(data) <= 1, `refused ${data} is never logged twice`);
    assert.equal(new Set(offsetsOf(events)).size, events.length, 'distinct offsets');
    assert.deepEqual(drops, [], 'browsers stayed connected');
  });

  it('a stream of 300 emits across a PostgreSQL outage: every acknowledged offset is in History exactly once', async (t) => {
    restartPostgresAfter(t);
    const db = await freshDatabase('stream');
    const server = await startOn(t, db);
    const socket = await socketIn(t, server, ['stream']);
    const received = collect(socket, 'seq');
    const total = 300;
    const results = new Array(total);
    let next = 0;
    let acked = 0;
    let failed = 0;
    let stopWorkers = false;
    const deadline = Date.now() + 60000;
    const worker = async () => {
      while (!stopWorkers && next < total && Date.now() < deadline) {
        const seq = next++;
        // The last emits wait for PostgreSQL to be back, so the stream spans the whole outage.
        while (seq >= total - 50 && outage.restartedAfter === undefined && !outage.failed && Date.now() < deadline) await sleep(20);
        let res;
        try {
          res = await api(server.port, 'POST', '/v1/emit', { room: 'stream', event: 'seq', data: { seq } }, { timeoutMs: 8000 });
        } catch (err) {
          results[seq] = { seq, outcome: 'unknown', why: err.message };
          failed += 1;
          await sleep(200);
          continue;
        }
        if (res.status === 200) {
          results[seq] = { seq, outcome: 'ok', ...assertLoggedEmit(res.json) };
          acked += 1;
          await sleep(20);  // paced, so PostgreSQL stops with the stream in full flow
        } else {
          results[seq] = { seq, outcome: 'failed', status: res.status, code: res.json?.code, body: res.body };
          failed += 1;
          await sleep(200);  // a few refusals a second while it is down, so the stream outlasts the outage
        }
      }
    };
    const outage = { stoppedAfter: undefined, restartedAfter: undefined, failed: false };
    const controller = async () => {
      try {
        await pollUntil(() => acked >= 100, { timeoutMs: 30000, intervalMs: 5, what: '100 acknowledged emits' });
        await ctx.pg.stop();
        outage.stoppedAfter = next;
        await pollUntil(() => failed >= 5 || next >= total, { timeoutMs: 10000, intervalMs: 5, what: 'emits failing' });
        await sleep(300);
        await ctx.pg.start();
        outage.restartedAfter = next;
      } catch (err) {
        outage.failed = true;
        if (!ctx.pg.running) await ctx.pg.start().catch(() => {});
        throw err;
      }
    };
    const settled = await Promise.allSettled([controller(), ...Array.from({ length: 4 }, worker)]);
    stopWorkers = true;
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    if (!ctx.pg.running) await ctx.pg.start();

    const done = results.filter(Boolean);
    const oks = done.filter((r) => r.outcome === 'ok');
    const bad = done.filter((r) => r.outcome !== 'ok');
    const summary = `acked ${oks.length}, failed ${bad.length} of ${done.length}; outage ${JSON.stringify(outage)}`;
    t.diagnostic(summary);
    assert.ok(oks.length >= 100, summary);
    assert.ok(bad.length >= 1, `the outage refused some emits: ${summary}`);
    for (const r of bad.filter((x) => x.outcome === 'failed')) {
      assert.equal(r.status, 503, `a refusal is 503: ${JSON.stringify(r)}`);
      assert.equal(r.code, Code.UNAVAILABLE, `a refusal is UNAVAILABLE: ${JSON.stringify(r)}`);
    }
    assert.equal(new Set(oks.map((r) => String(r.offset))).size, oks.length, 'acknowledged offsets are distinct');
    assert.ok(oks.every((r) => r.epoch === oks[0].epoch), 'one epoch through the outage');

    // Emits work again (if the stream ended before they did).
    await pollUntil(async () => (await api(server.port, 'POST', '/v1/emit', { room: 'elsewhere', event: 'probe', data: 0 })).status === 200,
      { timeoutMs: 15000, intervalMs: 200, what: 'emits to work after the outage' });

    const events = (await historyAll(server.port, {})).filter((e) => e.event === 'seq');
    const offsets = events.map((e) => e.offset);
    for (let i = 1; i < offsets.length; ++i) assert.ok(offsets[i] > offsets[i - 1], `History is in offset order, no repeats (${offsets[i - 1]}, ${offsets[i]})`);
    const atOffset = new Map(events.map((e) => [String(e.offset), e]));
    const seqCount = new Map();
    for (const e of events) seqCount.set(e.data?.seq, (seqCount.get(e.data?.seq) ?? 0) + 1);
    const missing = oks.filter((r) => atOffset.get(String(r.offset))?.data?.seq !== r.seq);
    assert.deepEqual(missing.map((r) => ({ seq: r.seq, offset: String(r.offset), found: atOffset.get(String(r.offset))?.data })), [],
      `every acknowledged emit is in History at its offset (${summary})`);
    for (const r of oks) assert.equal(seqCount.get(r.seq), 1, `acknowledged seq ${r.seq} is logged exactly once`);
    for (const r of bad) assert.ok((seqCount.get(r.seq) ?? 0) <= 1, `failed seq ${r.seq} is logged at most once`);
    for (const seq of seqCount.keys()) assert.ok(Number.isInteger(seq) && seq >= 0 && seq < total, `an event of this stream: ${seq}`);

    // The browser got every acknowledged emit once and no refused one.
    await collected(received, oks.length, { timeoutMs: 5000, settleMs: 500 });
    const got = new Map();
    for (const data of received) got.set(data?.seq, (got.get(data?.seq) ?? 0) + 1);
    for (const r of oks) assert.equal(got.get(r.seq), 1, `acknowledged seq ${r.seq} delivered once`);
    for (const r of bad.filter((x) => x.outcome === 'failed')) assert.equal(got.get(r.seq), undefined, `refused seq ${r.seq} was not delivered`);
  });

  it('roomcastd restarted (SIGTERM) and SIGKILLed on the same database: History intact, offsets go on in the same epoch', async (t) => {
    const db = await freshDatabase('restart');
    const first = await startOn(t, db);
    const initial = [];
    for (let i = 0; i < 5; ++i) initial.push(await emitLogged(first.port, { room: 'r', event: 'life', data: `first-${i}` }));
    const epoch = initial[0].epoch;
    const beforeStop = await historyHttp(first.port, {});
    const stopped = await stopServer(first, { signal: 'SIGTERM', timeoutMs: 10000 });
    assert.ok(!stopped.killed, `exits on SIGTERM: ${JSON.stringify(stopped)}`);

    const second = await startOn(t, db);
    const afterRestart = await historyHttp(second.port, {});
    assert.deepEqual(afterRestart.map(what), beforeStop.map(what), 'History survives a restart');
    const resumed = await emitLogged(second.port, { room: 'r', event: 'life', data: 'second-0' });
    assert.equal(resumed.offset, initial[4].offset + 1n, 'the next offset after a restart');
    assert.equal(resumed.epoch, epoch, 'the same epoch');

    // A stream, killed with emits in flight: whatever was acknowledged must survive.
    const acked = [{ data: 'second-0', offset: resumed.offset }];
    let killed = false;
    let next = 0;
    const worker = async () => {
      while (!killed && next < 200) {
        const i = next++;
        try {
          const res = await api(second.port, 'POST', '/v1/emit', { room: 'r', event: 'life', data: `stream-${i}` }, { timeoutMs: 5000 });
          if (res.status === 200) acked.push({ data: `stream-${i}`, ...assertLoggedEmit(res.json) });
        } catch {
          // The process went away under this request: its outcome is unknown.
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await pollUntil(() => acked.length >= 40, { timeoutMs: 20000, intervalMs: 2, what: '40 acknowledged emits' });
    await stopServer(second, { signal: 'SIGKILL' });
    killed = true;
    await Promise.all(workers);

    const third = await startOn(t, db);
    const events = await historyAll(third.port, {});
    assert.deepEqual(events.slice(0, beforeStop.length).map(what), beforeStop.map(what), 'the first events are intact');
    const atOffset = new Map(events.map((e) => [String(e.offset), e]));
    for (const a of acked) assert.equal(atOffset.get(String(a.offset))?.data, a.data, `acknowledged ${a.data} survives SIGKILL at offset ${a.offset}`);
    for (const a of acked.slice(1)) assert.equal(a.epoch, epoch);
    assert.equal(new Set(events.map((e) => e.data)).size, events.length, 'nothing logged twice');
    assert.deepEqual(offsetsOf(events), consecutive(initial[0].offset, events.length), 'no gap and no repeat');
    assert.ok(events.every((e) => e.epoch === epoch), 'one epoch across restarts');
    const last = events[events.length - 1].offset;
    const maxAcked = acked.map((a) => a.offset).sort(byOffset).pop();
    assert.ok(last >= maxAcked);
    const after = await emitLogged(third.port, { room: 'r', event: 'life', data: 'third-0' });
    assert.equal(after.offset, last + 1n, `above the last logged offset (${last}), never reused`);
    assert.equal(after.epoch, epoch);
    assert.deepEqual((await historyHttp(third.port, { afterOffset: String(last) })).map((e) => e.data), ['third-0']);
  });

  it('--event_log_size=N keeps the newest N events per namespace (pruned in the background)', async (t) => {
    const db = await freshDatabase('size');
    const server = await startOn(t, db, ['--event_log_size=5', '--namespaces=/,/other']);
    const answers = [];
    for (let i = 0; i < 12; ++i) answers.push(await emitLogged(server.port, { room: 's', event: 'size', data: i }));
    const others = [];
    for (let i = 0; i < 3; ++i) others.push(await emitLogged(server.port, { namespace: '/other', event: 'size', data: `o${i}` }));
    const newest = answers.slice(-5).map((a) => String(a.offset));
    const kept = await pollUntil(async () => {
      const events = await historyHttp(server.port, { limit: 1000 });
      return events.length <= 5 ? events : null;
    }, { timeoutMs: 15000, intervalMs: 250, what: 'History to hold at most 5 events' });
    assert.deepEqual(offsetsOf(kept), newest, 'the newest five');
    assert.deepEqual(kept.map((e) => e.data), [7, 8, 9, 10, 11]);
    await pollUntil(async () => (await scalar(db, "SELECT count(*) FROM roomcast_events WHERE nsp = '/'")) === '5',
      { timeoutMs: 15000, intervalMs: 250, what: 'the table to be pruned to 5 rows for "/"' });
    assert.deepEqual((await historyHttp(server.port, { namespace: '/other' })).map((e) => e.data), ['o0', 'o1', 'o2'], 'per namespace');
    const next = await emitLogged(server.port, { room: 's', event: 'size', data: 12 });
    assert.equal(next.offset, answers[11].offset + 1n, 'pruning never reuses an offset');
    const latest = await pollUntil(async () => {
      const events = await historyHttp(server.port, {});
      return events.length <= 5 ? events : null;
    }, { timeoutMs: 15000, intervalMs: 250, what: 'still at most 5' });
    assert.deepEqual(latest.map((e) => e.data), [8, 9, 10, 11, 12]);
  });

  it('--history_retention_s=S drops events older than S seconds; offsets and epoch go on', async (t) => {
    const db = await freshDatabase('age');
    const server = await startOn(t, db, ['--history_retention_s=2']);
    const answers = [];
    for (let i = 0; i < 3; ++i) answers.push(await emitLogged(server.port, { room: 'a', event: 'age', data: i }));
    const emittedAt = Date.now();
    assert.deepEqual((await historyHttp(server.port, {})).map((e) => e.data), [0, 1, 2], 'fresh events are kept');
    await pollUntil(async () => (await historyHttp(server.port, {})).length === 0,
      { timeoutMs: 15000, intervalMs: 250, what: 'events older than 2 s to leave History' });
    assert.ok(Date.now() - emittedAt >= 1500, `not dropped before their time (${Date.now() - emittedAt} ms)`);
    await pollUntil(async () => (await scalar(db, 'SELECT count(*) FROM roomcast_events')) === '0',
      { timeoutMs: 15000, intervalMs: 250, what: 'the old rows to be deleted' });
    const next = await emitLogged(server.port, { room: 'a', event: 'age', data: 'new' });
    assert.equal(next.offset, answers[2].offset + 1n, 'an emptied log still numbers on');
    assert.equal(next.epoch, answers[0].epoch, 'the same epoch');
    assert.deepEqual((await historyHttp(server.port, {})).map((e) => [String(e.offset), e.data]), [[String(next.offset), 'new']]);
  });
});

describe('choosing the postgres log without a database', () => {
  it('--event_log=postgres without DATABASE_URL stops startup naming the setting', async () => {
    const env = { DATABASE_URL: '', ROOMCAST_EVENT_LOG: '' };
    const run = await runToExit(['--port=0', '--grpc_port=0', '--event_log=postgres'], { env, timeoutMs: 10000 });
    const output = run.stdout + run.stderr;
    assert.equal(run.timedOut, false, `exits on its own:\n${output}`);
    assert.notEqual(run.code, 0, `non-zero exit:\n${output}`);
    assert.match(output, /database_url|DATABASE_URL/, output);
  });
});

// The `roomcast` command line against a real roomcastd: `tail` prints what
// `emit` sends (from --data and from stdin), status/health in human and --json
// form, the HTTP-shim fallback when gRPC is unreachable, exit codes (0 ok,
// 1 server error, 2 usage), --help on every subcommand, join/leave/disconnect
// observed by socket.io-client, `history` of what `emit` sent, `tail`
// against a server that is not there, `events` printing and acking what a
// socket.io-client sends (filtered, with lifecycle, across a server restart)
// and `ask` waiting for the acks of a room's sockets; and all of it over TLS
// (ROOMCAST_CA_FILE, a client certificate for gRPC's mTLS, `tail` on wss, the
// fallback to the HTTPS shim and never to plain HTTP).
// Every CLI run is bounded in time; every `tail` and `events` is killed in a finally.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildDir, startRoomcastd } from '../support/process.js';
import { freePort, stopServer } from '../support/fixtures.js';
import { pollUntil, useControlServer } from '../support/control.js';
import { closeAll, connect, expectNoEvent, roomsOf, waitFor, withTimeout } from '../support/sio.js';
import { hasOpenssl, makeTlsFixture } from '../support/tls.js';

const roomcastPath = path.join(buildDir, 'clients/cli/roomcast');
const kRunTimeoutMs = 10000;
const kSubcommands = ['emit', 'status', 'health', 'join', 'leave', 'disconnect', 'history', 'tail', 'events', 'ask'];

const fx = useControlServer();

/** The environment variables the CLI reads, pointed at a server (no inherited ones leak in). */
function cliEnv({ grpcPort, port, apiKey, ...overrides } = {}) {
  const env = { ...process.env };
  for (const name of ['ROOMCAST_GRPC_TARGET', 'INTERNAL_API_URL', 'INTERNAL_API_KEY', 'SOCKET_SERVER_URL', 'ROOMCAST_TOKEN',
    'ROOMCAST_CA_FILE', 'ROOMCAST_CLIENT_CERT_FILE', 'ROOMCAST_CLIENT_KEY_FILE']) {
    delete env[name];
  }
  if (grpcPort !== undefined) env.ROOMCAST_GRPC_TARGET = `localhost:${grpcPort}`;
  if (port !== undefined) {
    env.INTERNAL_API_URL = `http://localhost:${port}`;
    env.SOCKET_SERVER_URL = `http://localhost:${port}`;
  }
  if (apiKey !== undefined) env.INTERNAL_API_KEY = apiKey;
  return { ...env, ...overrides };
}

/** The env for the file's server. */
const env = (overrides = {}) => cliEnv({ grpcPort: fx.grpcPort, port: fx.port, ...overrides });

/**
 * Runs `roomcast args...` to completion (SIGKILL after timeoutMs); stdin gets
 * `input` (or nothing) and is always closed. Resolves { code, signal, stdout, stderr, timedOut }.
 */
function roomcast(args, { env: runEnv = env(), input, timeoutMs = kRunTimeoutMs } = {}) {
  return new Promise((resolve) => {
    const child = spawn(roomcastPath, args, { env: runEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.stdin.on('error', () => {}); // the CLI may exit without reading stdin
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}spawn failed: ${err.message}`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Describes a run for assertion messages. */
const show = (args, r) =>
  `roomcast ${args.map((a) => JSON.stringify(a)).join(' ')} -> code ${r.code}${r.timedOut ? ' (timed out)' : ''}` +
  `${r.signal ? ` signal ${r.signal}` : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Runs and asserts the exit code; resolves the run. */
async function expectExit(code, args, options) {
  const r = await roomcast(args, options);
  assert.equal(r.timedOut, false, `did not finish in time: ${show(args, r)}`);
  assert.equal(r.code, code, show(args, r));
  return r;
}

/** Runs `--json args...`, asserts exit 0 and one JSON document on stdout; resolves it. */
async function json(args, options) {
  const full = ['--json', ...args];
  const r = await expectExit(0, full, options);
  let parsed;
  assert.doesNotThrow(() => (parsed = JSON.parse(r.stdout)), `stdout is JSON: ${show(full, r)}`);
  return parsed;
}

/**
 * Starts `roomcast tail --room ...`; resolves once it reports "tailing" on
 * stderr. Returns { child, lines (parsed events), raw (stdout lines), stderr(), exited, stop() }.
 */
function startTail(rooms, { env: tailEnv = env(), extraArgs = [] } = {}) {
  return startLines(['tail', ...rooms.flatMap((r) => ['--room', r]), ...extraArgs], /tailing/, { env: tailEnv });
}

/** Starts `roomcast events args...`; resolves once it reports "receiving client events" on stderr. */
function startEvents(args = [], { env: eventsEnv = env() } = {}) {
  return startLines(['events', ...args], /receiving client events/, { env: eventsEnv });
}

/**
 * Starts a long-running `roomcast args...` that prints JSON lines; resolves
 * once `ready` matches its stderr. stop() sends SIGTERM (SIGKILL after 3 s)
 * and resolves the exit { code, signal }.
 */
async function startLines(args, ready, { env: runEnv }) {
  const child = spawn(roomcastPath, args, { env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = { child, lines: [], raw: [], stdout: '', stderrText: '' };
  tail.stderr = () => tail.stderrText;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  let pending = '';
  child.stdout.on('data', (chunk) => {
    tail.stdout += chunk;
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      tail.raw.push(line);
      try {
        tail.lines.push(JSON.parse(line));
      } catch {
        tail.lines.push({ unparsable: line });
      }
    }
  });
  child.stderr.on('data', (chunk) => (tail.stderrText += chunk));
  tail.exited = new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => resolve({ code: null, signal: null, error: err }));
  });
  tail.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    try {
      return await withTimeout(tail.exited, 3000, `roomcast ${args[0]} to exit after SIGTERM`);
    } catch {
      child.kill('SIGKILL');
      return { ...(await tail.exited), killed: true };
    }
  };
  try {
    await withTimeout(
      Promise.race([
        pollUntil(() => ready.test(tail.stderrText), { timeoutMs: 5000, intervalMs: 20, what: `${ready} on stderr` }),
        tail.exited.then((e) => {
          throw new Error(`${args[0]} exited before connecting: ${JSON.stringify(e)} stderr: ${tail.stderrText}`);
        }),
      ]),
      6000,
      `roomcast ${args.join(' ')} to report ${ready} (stderr so far: ${tail.stderrText})`,
    );
  } catch (err) {
    await tail.stop();
    throw err;
  }
  return tail;
}

/** A socket.io-client socket in `rooms` (websocket), closed after the test. */
async function client(t, rooms = []) {
  const socket = await fx.connect({ transports: ['websocket'], ...(rooms.length ? { auth: { rooms } } : {}) });
  t.after(() => socket.close());
  return socket;
}

/** Waits until the tail has printed an event named `event`; resolves the list of lines so far. */
async function tailSaw(tail, event, timeoutMs = 5000) {
  await pollUntil(() => tail.lines.some((l) => l.event === event), {
    timeoutMs,
    intervalMs: 20,
    what: `tail line for "${event}" (stdout so far: ${JSON.stringify(tail.stdout)}, stderr: ${tail.stderr()})`,
  });
  return tail.lines;
}

/** A loopback port nothing listens on. */
const closedPort = () => freePort();

/**
 * Emits `event` with an ack until the answer is `expected`: what a
 * `roomcast events --ack` acks with once its stream is open (before that the
 * server answers "unavailable" at once).
 */
async function untilStreamAcks(socket, expected, { event = 'stream-probe', timeoutMs = 10000 } = {}) {
  const seen = [];
  await pollUntil(
    async () => {
      const ack = await socket.timeout(2000).emitWithAck(event);
      seen.push(ack);
      return JSON.stringify(ack) === JSON.stringify(expected);
    },
    { timeoutMs, intervalMs: 50, what: `"${event}" acked with ${JSON.stringify(expected)} (acks so far: ${JSON.stringify(seen)})` },
  );
}

/** Waits until `lines` (of a startLines run) has one for which `match` is true; resolves it. */
async function lineWhere(run, match, what, timeoutMs = 5000) {
  await pollUntil(() => run.lines.some(match), {
    timeoutMs,
    intervalMs: 20,
    what: `${what} (stdout so far: ${JSON.stringify(run.stdout)}, stderr: ${run.stderr()})`,
  });
  return run.lines.find(match);
}

describe('roomcast tail prints what roomcast emit sends', () => {
  it('--data JSON (with non-ASCII), data from stdin, and nothing for another room', async () => {
    await fx.ready;
    const tail = await startTail(['demo']);
    try {
      assert.match(tail.stderr(), /tailing demo/, `stderr names the room: ${tail.stderr()}`);

      const sent = await expectExit(0, ['emit', '--room', 'demo', '--event', 'hello', '--data', '{"a":1,"u":"é"}']);
      assert.match(sent.stdout, /^delivered to 1 socket\(s\), offset [1-9]\d* in epoch \S+\n$/, `human emit output: ${sent.stdout}`);

      // `echo '[1,2]' | roomcast emit ...`: no --data, JSON read from stdin.
      const piped = await expectExit(0, ['--json', 'emit', '--room', 'demo', '--event', 'from-stdin'], { input: '[1,2]\n' });
      assert.equal(JSON.parse(piped.stdout).recipients, '1', `--json emit: ${piped.stdout}`);

      // Another room: delivered to nobody the tail can see.
      await expectExit(0, ['emit', '--room', 'not-demo', '--event', 'elsewhere', '--data', '"no"']);
      // A sentinel after it: once the tail prints it, the other-room event would have shown up before.
      await expectExit(0, ['emit', '--room', 'demo', '--event', 'sentinel', '--data', 'true']);
      await tailSaw(tail, 'sentinel');
      await new Promise((resolve) => setTimeout(resolve, 200));

      assert.deepEqual(
        tail.lines,
        [
          { event: 'hello', args: [{ a: 1, u: 'é' }] },
          { event: 'from-stdin', args: [[1, 2]] },
          { event: 'sentinel', args: [true] },
        ],
        `tail stdout, one JSON line per event: ${JSON.stringify(tail.stdout)}`,
      );
      assert.equal(tail.stdout.endsWith('\n'), true, 'each line ends with a newline');
      assert.equal(tail.child.exitCode, null, 'tail keeps running until killed');
    } finally {
      await tail.stop();
    }
  });

  it('tail with two --room flags prints events for both, each once', async () => {
    await fx.ready;
    const tail = await startTail(['two-a', 'two-b']);
    try {
      await expectExit(0, ['emit', '--room', 'two-a', '--event', 'ea', '--data', '1']);
      await expectExit(0, ['emit', '--room', 'two-b', '--event', 'eb', '--data', '2']);
      // Both rooms in one emit: the tail's socket gets it once.
      await expectExit(0, ['emit', '--room', 'two-a', '--room', 'two-b', '--event', 'both', '--data', '3']);
      await tailSaw(tail, 'both');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(tail.lines, [
        { event: 'ea', args: [1] },
        { event: 'eb', args: [2] },
        { event: 'both', args: [3] },
      ]);
    } finally {
      await tail.stop();
    }
  });
});

describe('roomcast status and health', () => {
  it('--json status parses with connections, rooms and counters; human status mentions the room count', async (t) => {
    await fx.ready;
    await client(t, ['status-room-1', 'status-room-2']);
    const status = await json(['status']);
    for (const field of ['connections', 'rooms', 'counters']) {
      assert.ok(field in status, `${field} in ${JSON.stringify(status)}`);
    }
    assert.match(String(status.connections), /^\d+$/, `connections: ${JSON.stringify(status)}`);
    assert.match(String(status.rooms), /^\d+$/, `rooms: ${JSON.stringify(status)}`);
    assert.ok(Number(status.connections) >= 1, `a client is connected: ${JSON.stringify(status)}`);
    assert.ok(Number(status.rooms) >= 2, `its two rooms are counted: ${JSON.stringify(status)}`);
    assert.equal(typeof status.counters, 'object');
    assert.ok(status.counters.emitsByTransport && 'grpc' in status.counters.emitsByTransport, JSON.stringify(status.counters));

    const human = await expectExit(0, ['status']);
    assert.match(human.stdout, new RegExp(`\\b${Number(status.rooms)} room`), `human status mentions the room count: ${human.stdout}`);
    assert.throws(() => JSON.parse(human.stdout), 'human output is not JSON');

    // --json after the subcommand works too.
    const late = await expectExit(0, ['status', '--json']);
    assert.ok('counters' in JSON.parse(late.stdout), late.stdout);
  });

  it('--json health parses with status SERVING, exit 0; human health says SERVING', async () => {
    await fx.ready;
    const health = await json(['health']);
    assert.equal(health.status, 'SERVING', JSON.stringify(health));
    assert.ok(Array.isArray(health.checks), JSON.stringify(health));
    const human = await expectExit(0, ['health']);
    assert.match(human.stdout, /^SERVING\b/, human.stdout);
  });
});

describe('roomcast emit falls back to the HTTP shim when gRPC is unreachable', () => {
  it('delivers to a socket.io-client in the room and is counted as an http emit', async (t) => {
    await fx.ready;
    const before = await json(['status']);
    const socket = await client(t, ['fallback-room']);
    const got = waitFor(socket, 'via-shim', 5000);
    const noGrpc = env({ grpcPort: await closedPort() });
    const args = ['emit', '--room', 'fallback-room', '--event', 'via-shim', '--data', '{"n":42}'];
    const r = await expectExit(0, args, { env: noGrpc });
    assert.deepEqual(await got, { n: 42 });
    assert.match(r.stdout, /delivered to 1 socket/, show(args, r));

    const afterStatus = await json(['status']);
    assert.equal(
      BigInt(afterStatus.counters.emitsByTransport.http),
      BigInt(before.counters.emitsByTransport.http ?? '0') + 1n,
      `one more http emit: before ${JSON.stringify(before.counters)} after ${JSON.stringify(afterStatus.counters)}`,
    );
  });

  it('warns about the fallback on stderr (naming the shim), not on stdout', async () => {
    await fx.ready;
    const args = ['emit', '--room', 'fallback-room', '--event', 'via-shim', '--data', '1'];
    const r = await expectExit(0, args, { env: env({ grpcPort: await closedPort() }) });
    assert.match(r.stderr, /unreachable|fall(ing)? ?back|HTTP shim/i, `a warning about the fallback on stderr: ${show(args, r)}`);
    assert.match(r.stderr, new RegExp(`localhost:${fx.port}`), `the warning names the shim: ${show(args, r)}`);
    assert.doesNotMatch(r.stdout, /unreachable|HTTP shim|warn/i, `no log lines on stdout: ${show(args, r)}`);
  });

  it('--json output is still one JSON document when falling back (emit, status)', async () => {
    await fx.ready;
    const noGrpc = env({ grpcPort: await closedPort() });
    const emitted = await json(['emit', '--room', 'fallback-room', '--event', 'via-shim', '--data', '2'], { env: noGrpc });
    assert.deepEqual(Object.keys(emitted).sort(), ['duplicate', 'epoch', 'offset', 'recipients'], JSON.stringify(emitted));
    const status = await json(['status'], { env: noGrpc });
    assert.ok('counters' in status, JSON.stringify(status));
  });

  it('with both gRPC and the shim unreachable: exit 1 with a clear message, no hang', async () => {
    const r = await expectExit(1, ['emit', '--room', 'x', '--event', 'e', '--data', '1'], {
      env: cliEnv({ grpcPort: await closedPort(), port: await closedPort() }),
    });
    assert.match(r.stderr, /UNAVAILABLE|unreachable|refused/i, r.stderr);
  });
});

describe('exit codes', () => {
  const usageCases = [
    { name: 'unknown command', args: ['bogus'], stderr: /unknown command/i },
    { name: 'emit without --event', args: ['emit', '--room', 'x', '--data', '1'], stderr: /--event/ },
    { name: 'join without a selector', args: ['join', '--room', 'b'], stderr: /--socket|--in-room|--user/ },
    { name: 'leave without a selector', args: ['leave', '--room', 'b'], stderr: /--socket|--in-room|--user/ },
    { name: 'disconnect without a selector', args: ['disconnect'], stderr: /--socket|--in-room|--user/ },
    { name: 'join without --room', args: ['join', '--in-room', 'a'], stderr: /--room/ },
    { name: 'tail without --room', args: ['tail'], stderr: /--room/ },
    { name: 'history --limit not a number', args: ['history', '--limit', 'many'], stderr: /--limit/ },
    { name: 'history --after not an offset', args: ['history', '--after', '-1'], stderr: /--after/ },
    { name: 'bad --data JSON', args: ['emit', '--room', 'x', '--event', 'e', '--data', '{bad'], stderr: /JSON/ },
    { name: 'bad JSON on stdin', args: ['emit', '--room', 'x', '--event', 'e'], input: '{bad\n', stderr: /JSON/ },
    { name: 'an option without its value', args: ['emit', '--room', 'x', '--event'], stderr: /--event/ },
    { name: 'a stray positional argument', args: ['status', 'extra'], stderr: /extra/ },
    // A typo such as --rooms must not silently emit to the whole namespace.
    { name: 'unknown option (--rooms typo)', args: ['emit', '--rooms', 'typo-room', '--event', 'e', '--data', '1'], stderr: /rooms/ },
    { name: 'ask without a target', args: ['ask', '--event', 'q', '--data', '1'], stderr: /--socket|--room|--user/ },
    { name: 'ask with two targets', args: ['ask', '--room', 'r', '--user', 'u', '--event', 'q'], stderr: /--socket|--room|--user/ },
    { name: 'ask without --event', args: ['ask', '--room', 'r', '--data', '1'], stderr: /--event/ },
    { name: 'ask --timeout_ms not a number', args: ['ask', '--room', 'r', '--event', 'q', '--timeout_ms', 'soon'], stderr: /--timeout_ms/ },
    { name: 'ask bad --data JSON', args: ['ask', '--room', 'r', '--event', 'q', '--data', '{bad'], stderr: /JSON/ },
    { name: 'events --ack not a JSON array', args: ['events', '--ack', '"ok"'], stderr: /--ack/ },
  ];
  for (const c of usageCases) {
    it(`usage error → 2: ${c.name}`, async () => {
      await fx.ready;
      const r = await expectExit(2, c.args, { input: c.input });
      assert.match(r.stderr, c.stderr, show(c.args, r));
      assert.match(r.stderr, /^roomcast: /m, `a roomcast: message on stderr: ${show(c.args, r)}`);
      assert.equal(r.stdout, '', `nothing on stdout: ${show(c.args, r)}`);
    });
  }

  it('server error → 1: emit of the reserved event name "disconnect" is INVALID_ARGUMENT', async () => {
    await fx.ready;
    for (const args of [
      ['emit', '--room', 'x', '--event', 'disconnect', '--data', '1'],
      ['--json', 'emit', '--room', 'x', '--event', 'disconnect', '--data', '1'],
    ]) {
      const r = await expectExit(1, args);
      assert.match(r.stderr, /INVALID_ARGUMENT/, show(args, r));
      assert.match(r.stderr, /disconnect/, show(args, r));
    }
  });

  describe('server error → 1: wrong INTERNAL_API_KEY is UNAUTHENTICATED', () => {
    it('over gRPC and over the HTTP shim; the right key works', async () => {
      const server = await startRoomcastd(['--internal_api_key=k']);
      try {
        const at = { grpcPort: server.grpcPort, port: server.port };
        const args = ['emit', '--room', 'x', '--event', 'e', '--data', '1'];
        for (const [what, runEnv] of [
          ['gRPC, wrong key', cliEnv({ ...at, apiKey: 'wrong' })],
          ['gRPC, no key', cliEnv(at)],
          ['HTTP shim, wrong key', cliEnv({ ...at, grpcPort: await closedPort(), apiKey: 'wrong' })],
        ]) {
          const r = await expectExit(1, args, { env: runEnv });
          assert.match(r.stderr, /UNAUTHENTICATED/, `${what}: ${show(args, r)}`);
        }
        await expectExit(0, args, { env: cliEnv({ ...at, apiKey: 'k' }) });
        await expectExit(0, args, { env: cliEnv({ ...at, grpcPort: await closedPort(), apiKey: 'k' }) });
      } finally {
        await stopServer(server);
      }
    });
  });

  it('--help → 0 with the overall usage naming every subcommand', async () => {
    for (const args of [['--help'], ['-h']]) {
      // Pointed at nothing: help must not need a server.
      const r = await expectExit(0, args, { env: cliEnv({ grpcPort: await closedPort(), port: await closedPort() }) });
      assert.match(r.stdout, /usage: roomcast/, show(args, r));
      for (const sub of kSubcommands) assert.match(r.stdout, new RegExp(`roomcast ${sub}\\b`), `${sub}: ${show(args, r)}`);
    }
  });

  for (const sub of kSubcommands) {
    it(`roomcast ${sub} --help → 0 and prints its usage`, async () => {
      const args = [sub, '--help'];
      const r = await expectExit(0, args, { env: cliEnv({ grpcPort: await closedPort(), port: await closedPort() }) });
      assert.match(r.stdout, new RegExp(`usage: roomcast ${sub}\\b`), show(args, r));
      // Without the other subcommands' usages.
      for (const other of kSubcommands.filter((s) => s !== sub)) {
        assert.doesNotMatch(r.stdout, new RegExp(`^roomcast ${other}\\b`, 'm'), show(args, r));
      }
    });
  }
});

describe('roomcast join / leave / disconnect, seen by a socket.io-client', () => {
  it('join --in-room a --room b adds b; leave removes it (human and --json)', async (t) => {
    await fx.ready;
    const s = await client(t, ['a']);
    const bystander = await client(t, ['not-a']);
    assert.deepEqual(await roomsOf(s), ['a']);

    const joined = await expectExit(0, ['join', '--in-room', 'a', '--room', 'b']);
    assert.match(joined.stdout, /1 socket/, joined.stdout);
    assert.deepEqual((await roomsOf(s)).sort(), ['a', 'b']);
    assert.deepEqual(await roomsOf(bystander), ['not-a'], 'a socket outside room a is untouched');

    const left = await expectExit(0, ['leave', '--in-room', 'a', '--room', 'b']);
    assert.match(left.stdout, /1 socket/, left.stdout);
    assert.deepEqual(await roomsOf(s), ['a']);

    assert.deepEqual(await json(['join', '--in-room', 'a', '--room', 'c', '--room', 'd']), { sockets: '1' });
    assert.deepEqual((await roomsOf(s)).sort(), ['a', 'c', 'd']);
    assert.deepEqual(await json(['leave', '--in-room', 'a', '--room', 'c']), { sockets: '1' });
    assert.deepEqual((await roomsOf(s)).sort(), ['a', 'd']);

    // By socket id too.
    assert.deepEqual(await json(['join', '--socket', s.id, '--room', 'by-id']), { sockets: '1' });
    assert.ok((await roomsOf(s)).includes('by-id'));
  });

  it('disconnect --in-room a: the client sees "io server disconnect"; --json variant parses', async (t) => {
    await fx.ready;
    const s = await client(t, ['a']);
    const bystander = await client(t, ['not-a']);
    const reason = waitFor(s, 'disconnect');
    const stays = expectNoEvent(bystander, 'disconnect', 500);
    const r = await expectExit(0, ['disconnect', '--in-room', 'a']);
    assert.match(r.stdout, /1 socket/, r.stdout);
    assert.equal(await reason, 'io server disconnect');
    await stays;

    const s2 = await client(t, ['kick-json']);
    const reason2 = waitFor(s2, 'disconnect');
    assert.deepEqual(await json(['disconnect', '--in-room', 'kick-json']), { sockets: '1' });
    assert.equal(await reason2, 'io server disconnect');
  });
});

describe('roomcast history', () => {
  /** Runs `roomcast history args...`, asserts exit 0; resolves its stdout as parsed JSON lines. */
  async function history(args) {
    const full = ['history', ...args];
    const r = await expectExit(0, full);
    assert.equal(r.stdout.endsWith('\n'), true, `each line ends with a newline: ${show(full, r)}`);
    return r.stdout
      .slice(0, -1)
      .split('\n')
      .map((line) => {
        let parsed;
        assert.doesNotThrow(() => (parsed = JSON.parse(line)), `a JSON line: ${JSON.stringify(line)} in ${show(full, r)}`);
        return parsed;
      });
  }

  it('prints what emit sent, oldest first with increasing offsets; --reverse --limit, --after, --json', async () => {
    await fx.ready;
    const room = 'history-room';
    const sent = [];
    for (const [event, data] of [['h1', '{"n":1}'], ['h2', '[2]'], ['h3', '"three"']]) {
      sent.push(await json(['emit', '--room', room, '--event', event, '--data', data]));
    }
    // Another room's event is not in this room's history.
    await expectExit(0, ['emit', '--room', 'not-history-room', '--event', 'other', '--data', '0']);

    const events = await history(['--room', room]);
    assert.deepEqual(
      events.map(({ offset, epoch, event, data, args, rooms, exceptRooms = [] }) => ({ offset, epoch, event, data, args, rooms, exceptRooms })),
      [
        { offset: sent[0].offset, epoch: sent[0].epoch, event: 'h1', data: { n: 1 }, args: [{ n: 1 }], rooms: [room], exceptRooms: [] },
        { offset: sent[1].offset, epoch: sent[1].epoch, event: 'h2', data: [2], args: [[2]], rooms: [room], exceptRooms: [] },
        { offset: sent[2].offset, epoch: sent[2].epoch, event: 'h3', data: 'three', args: ['three'], rooms: [room], exceptRooms: [] },
      ],
      `history lines: ${JSON.stringify(events)}`,
    );
    const offsets = events.map((e) => BigInt(e.offset));
    assert.ok(offsets[0] < offsets[1] && offsets[1] < offsets[2], `increasing offsets: ${offsets}`);
    assert.notEqual(sent[0].epoch, '', `an emit that was logged names its epoch: ${JSON.stringify(sent[0])}`);
    for (const e of events) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, JSON.stringify(e));

    const newest = await history(['--room', room, '--reverse', '--limit', '2']);
    assert.deepEqual(newest.map((e) => e.event), ['h3', 'h2'], JSON.stringify(newest));
    const after = await history(['--room', room, `--after=${sent[0].offset}`]);
    assert.deepEqual(after.map((e) => e.event), ['h2', 'h3'], JSON.stringify(after));
    assert.deepEqual(await json(['history', '--room', room]), { events }, '--json: the answer as one document');
  });

  it('--limit 5000 is refused by the server: exit 1 naming the limit, nothing on stdout', async () => {
    await fx.ready;
    for (const args of [
      ['history', '--limit', '5000'],
      ['--json', 'history', '--limit', '5000'],
    ]) {
      const r = await expectExit(1, args);
      assert.match(r.stderr, /^roomcast: INVALID_ARGUMENT/m, show(args, r));
      assert.match(r.stderr, /limit/i, show(args, r));
      assert.equal(r.stdout, '', show(args, r));
    }
  });
});

describe('roomcast tail without a server', () => {
  it('exits 1 with a clear message when nothing listens at SOCKET_SERVER_URL', async () => {
    const port = await closedPort();
    const args = ['tail', '--room', 'demo'];
    const started = Date.now();
    const r = await expectExit(1, args, { env: cliEnv({ grpcPort: await closedPort(), port }), timeoutMs: 15000 });
    assert.ok(Date.now() - started < 15000, 'bounded');
    assert.match(r.stderr, /^roomcast: /m, show(args, r));
    assert.match(r.stderr, /cannot reach|unreachable|refused|UNAVAILABLE/i, show(args, r));
    assert.match(r.stderr, new RegExp(`localhost:${port}`), `names the URL: ${show(args, r)}`);
    assert.equal(r.stdout, '', show(args, r));
  });

  it('exits 1 (does not hang) when the server dies while tailing', async () => {
    const server = await startRoomcastd();
    let tail;
    try {
      tail = await startTail(['gone'], { env: cliEnv({ grpcPort: server.grpcPort, port: server.port }) });
      await stopServer(server, { signal: 'SIGKILL' });
      const exit = await withTimeout(tail.exited, 10000, 'tail to exit after the server died');
      assert.equal(exit.code, 1, `exit ${JSON.stringify(exit)} stderr: ${tail.stderr()}`);
      assert.match(tail.stderr(), /^roomcast: .*(lost|closed|disconnect|UNAVAILABLE)/im, tail.stderr());
    } finally {
      await tail?.stop();
      await stopServer(server);
    }
  });
});

describe('roomcast events prints and acks what browsers send', () => {
  it(`events --ack '["ok"]': the browser's ack callback gets "ok"; one JSON line per event; SIGTERM exits 0`, async (t) => {
    await fx.ready;
    const socket = await client(t, ['events-room']);
    const events = await startEvents(['--ack', '["ok"]']);
    try {
      await untilStreamAcks(socket, 'ok');
      const reply = await socket.timeout(5000).emitWithAck('order.placed', { id: 42, u: 'é' }, [1, 2]);
      assert.equal(reply, 'ok', `the browser's ack callback: ${JSON.stringify(reply)} stderr: ${events.stderr()}`);
      socket.emit('no-ack', 'x');
      const noAck = await lineWhere(events, (l) => l.event === 'no-ack', 'the line of an event without an ack');

      const placed = events.lines.filter((l) => l.event === 'order.placed');
      assert.equal(placed.length, 1, `one line for the event: ${JSON.stringify(events.stdout)}`);
      const [line] = placed;
      assert.deepEqual(
        Object.keys(line).sort(),
        ['args', 'event', 'id', 'kind', 'namespace', 'nodeId', 'reason', 'rooms', 'socketId', 'time', 'userId', 'wantsAck'],
        JSON.stringify(line),
      );
      const { namespace, event, kind, args, socketId, userId, rooms, wantsAck, reason } = line;
      assert.deepEqual(
        { namespace, event, kind, args, socketId, userId, rooms, wantsAck, reason },
        {
          namespace: '/',
          event: 'order.placed',
          kind: 'event',
          args: [{ id: 42, u: 'é' }, [1, 2]],
          socketId: socket.id,
          userId: '',
          rooms: ['events-room'],
          wantsAck: true,
          reason: '',
        },
        JSON.stringify(line),
      );
      assert.equal(typeof line.id, 'string', JSON.stringify(line));
      assert.notEqual(line.id, '', JSON.stringify(line));
      assert.equal(typeof line.nodeId, 'string', JSON.stringify(line));
      assert.ok(Number.isInteger(line.time) && Math.abs(line.time - Date.now()) < 60000, `time in Unix ms: ${JSON.stringify(line)}`);

      assert.equal(noAck.wantsAck, false, JSON.stringify(noAck));
      assert.deepEqual(noAck.args, ['x'], JSON.stringify(noAck));
      assert.notEqual(noAck.id, line.id, 'every event has its own id');
      assert.ok(events.lines.every((l) => !('unparsable' in l)), `every stdout line is JSON: ${JSON.stringify(events.stdout)}`);
      assert.doesNotMatch(events.stderr(), /ack of .* failed/, events.stderr());

      const exit = await events.stop();
      assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM ends events cleanly; stderr: ${events.stderr()}`);
    } finally {
      await events.stop();
    }
  });

  it('--events filters by name (the others answer "unavailable"); --lifecycle adds connect and disconnect', async (t) => {
    await fx.ready;
    const events = await startEvents(['--events', 'wanted,also-wanted', '--lifecycle', '--ack', '["yes"]']);
    try {
      const socket = await client(t, ['filter-room']);
      await untilStreamAcks(socket, 'yes', { event: 'wanted' });
      const refused = await socket.timeout(3000).emitWithAck('unwanted', 1);
      assert.equal(refused?.ok, false, `an event no stream asked for: ${JSON.stringify(refused)}`);
      assert.equal(refused?.error?.code, 'unavailable', JSON.stringify(refused));
      assert.equal(await socket.timeout(3000).emitWithAck('also-wanted', 2), 'yes');

      const visitor = await fx.connect({ transports: ['websocket'] });
      const visitorId = visitor.id;
      const connected = await lineWhere(events, (l) => l.kind === 'connect' && l.socketId === visitorId, 'the visitor\'s connect');
      visitor.close();
      const gone = await lineWhere(events, (l) => l.kind === 'disconnect' && l.socketId === visitorId, 'the visitor\'s disconnect');
      assert.equal(connected.event, 'connect', JSON.stringify(connected));
      assert.deepEqual(connected.args, [], JSON.stringify(connected));
      assert.equal(connected.wantsAck, false, JSON.stringify(connected));
      assert.equal(gone.event, 'disconnect', JSON.stringify(gone));
      assert.match(gone.reason, /client namespace disconnect|transport close/, JSON.stringify(gone));
      assert.equal(gone.wantsAck, false, JSON.stringify(gone));
      assert.equal(events.lines.some((l) => l.event === 'unwanted'), false, `a filtered-out event is not printed: ${events.stdout}`);
    } finally {
      await events.stop();
    }
  });

  it('reconnects when the server comes back on the same ports, saying so on stderr', async () => {
    const port = await freePort();
    const grpcPort = await freePort();
    const flags = [`--port=${port}`, `--grpc_port=${grpcPort}`];
    let server = await startRoomcastd(flags);
    let events;
    const sockets = [];
    try {
      events = await startEvents(['--ack', '["again"]'], { env: cliEnv({ grpcPort, port }) });
      const url = `http://127.0.0.1:${port}`;
      sockets.push(await connect(url, { transports: ['websocket'] }));
      await untilStreamAcks(sockets[0], 'again');

      await stopServer(server, { signal: 'SIGKILL' });
      await pollUntil(() => /event stream ended .*reconnecting/.test(events.stderr()), {
        timeoutMs: 5000,
        intervalMs: 20,
        what: `"reconnecting" on stderr (so far: ${events.stderr()})`,
      });
      assert.equal(events.child.exitCode, null, 'events keeps running without a server');

      server = await startRoomcastd(flags);
      sockets.push(await connect(url, { transports: ['websocket'] }));
      await untilStreamAcks(sockets[1], 'again', { timeoutMs: 15000 });
    } finally {
      closeAll(sockets);
      await events?.stop();
      await stopServer(server);
    }
  });

  it('a wrong INTERNAL_API_KEY ends events at once with UNAUTHENTICATED (exit 1); the right one receives', async () => {
    const server = await startRoomcastd(['--internal_api_key=k']);
    let events;
    let socket;
    try {
      const at = { grpcPort: server.grpcPort, port: server.port };
      const refused = await expectExit(1, ['events'], { env: cliEnv({ ...at, apiKey: 'wrong' }) });
      assert.match(refused.stderr, /UNAUTHENTICATED/, refused.stderr);
      assert.equal(refused.stdout, '', refused.stdout);

      events = await startEvents(['--ack', '["keyed"]'], { env: cliEnv({ ...at, apiKey: 'k' }) });
      socket = await connect(`http://127.0.0.1:${server.port}`, { transports: ['websocket'] });
      await untilStreamAcks(socket, 'keyed');
    } finally {
      socket?.close();
      await events?.stop();
      await stopServer(server);
    }
  });
});

describe('roomcast ask waits for the acks of the sockets it asks', () => {
  it('--room with three sockets, one of which never answers: two replies and one timedOut', async (t) => {
    await fx.ready;
    const a = await client(t, ['ask-room']);
    const b = await client(t, ['ask-room']);
    const silent = await client(t, ['ask-room']);
    const outsider = await client(t, ['not-ask-room']);
    a.on('question', (data, cb) => cb({ from: 'a', got: data }));
    b.on('question', (data, cb) => cb('b', 2));
    const silentGot = new Promise((resolve) => silent.on('question', (data) => resolve(data))); // never acks
    let outsiderAsked = false;
    outsider.on('question', () => (outsiderAsked = true));

    const args = ['ask', '--room', 'ask-room', '--event', 'question', '--data', '{"q":1}', '--timeout_ms', '1000'];
    const started = Date.now();
    const r = await expectExit(0, args);
    const elapsed = Date.now() - started;
    let answer;
    assert.doesNotThrow(() => (answer = JSON.parse(r.stdout)), `stdout is JSON: ${show(args, r)}`);
    const replies = Object.fromEntries(answer.replies.map((reply) => [reply.socketId, reply.args]));
    assert.deepEqual(replies, { [a.id]: [{ from: 'a', got: { q: 1 } }], [b.id]: ['b', 2] }, show(args, r));
    assert.deepEqual(answer.timedOut, [silent.id], show(args, r));
    assert.deepEqual(await withTimeout(silentGot, 1000, 'the silent socket to get the question'), { q: 1 });
    assert.ok(elapsed >= 900, `waited --timeout_ms for the silent socket (${elapsed} ms)`);
    assert.equal(outsiderAsked, false, 'a socket outside the room is not asked');
  });

  it('--socket gets its one reply, over gRPC and over the HTTP shim; a room nobody is in answers at once', async (t) => {
    await fx.ready;
    const s = await client(t);
    s.on('double', (n, cb) => cb(n * 2));
    const args = ['ask', '--socket', s.id, '--event', 'double', '--data', '21'];
    for (const [what, runEnv] of [
      ['gRPC', env()],
      ['HTTP shim', env({ grpcPort: await closedPort() })],
    ]) {
      const one = await json(args, { env: runEnv });
      assert.deepEqual(
        one.replies.map(({ socketId, args: got }) => ({ socketId, args: got })),
        [{ socketId: s.id, args: [42] }],
        `${what}: ${JSON.stringify(one)}`,
      );
      assert.deepEqual(one.timedOut, [], `${what}: ${JSON.stringify(one)}`);
    }

    const started = Date.now();
    const none = await json(['ask', '--room', 'nobody-here', '--event', 'double', '--data', '1', '--timeout_ms', '5000']);
    assert.deepEqual(none, { replies: [], timedOut: [] }, JSON.stringify(none));
    assert.ok(Date.now() - started < 4000, `no sockets: no wait (${Date.now() - started} ms)`);
  });
});

describe('roomcast over TLS: a CA file, a client certificate, wss', { skip: !hasOpenssl() && 'openssl is not installed' }, () => {
  let dir;
  let certs;
  let otherCa;
  let server;
  const sockets = [];

  let fixture;

  before(async () => {
    fixture = makeTlsFixture('roomcast-cli-tls-');
    ({ dir, certs, otherCa } = fixture);
    server = await startRoomcastd(['--shards=1', `--tls_cert_file=${certs.cert}`, `--tls_key_file=${certs.key}`,
      `--tls_client_ca_file=${certs.ca}`], { env: { INTERNAL_API_KEY: '' } });
  });
  after(async () => {
    closeAll(sockets);
    await stopServer(server);
    fixture?.remove();
  });

  /** The CLI's environment for the TLS server: https URLs, our CA and the client certificate. */
  const tlsEnv = (overrides = {}) => cliEnv({
    grpcPort: server.grpcPort,
    INTERNAL_API_URL: `https://localhost:${server.port}`,
    SOCKET_SERVER_URL: `https://localhost:${server.port}`,
    ROOMCAST_CA_FILE: certs.ca,
    ROOMCAST_CLIENT_CERT_FILE: certs.clientCert,
    ROOMCAST_CLIENT_KEY_FILE: certs.clientKey,
    ...overrides,
  });
  const byTransport = async (runEnv) => (await json(['status'], { env: runEnv })).counters.emitsByTransport;
  const listener = async (room) => {
    const socket = await connect(`https://localhost:${server.port}`, { transports: ['websocket'], ca: fs.readFileSync(certs.ca), auth: { rooms: [room] } });
    sockets.push(socket);
    return socket;
  };

  it('emit goes over gRPC with mTLS; tail on wss and a socket.io-client both receive it', async () => {
    const socket = await listener('tls-room');
    const tail = await startTail(['tls-room'], { env: tlsEnv() });
    try {
      const before = await byTransport(tlsEnv());
      const got = waitFor(socket, 'over-tls', 5000);
      const args = ['emit', '--room', 'tls-room', '--event', 'over-tls', '--data', '{"n":7}'];
      const r = await expectExit(0, args, { env: tlsEnv() });
      assert.match(r.stdout, /delivered to 2 socket/, show(args, r));
      assert.doesNotMatch(r.stderr, /HTTP shim/, `no fallback: ${show(args, r)}`);
      assert.deepEqual(await got, { n: 7 });
      const lines = await tailSaw(tail, 'over-tls');
      assert.deepEqual(lines.find((l) => l.event === 'over-tls').args, [{ n: 7 }]);
      const afterCounts = await byTransport(tlsEnv());
      assert.equal(BigInt(afterCounts.grpc), BigInt(before.grpc ?? '0') + 1n, JSON.stringify({ before, afterCounts }));
    } finally {
      await tail.stop();
    }
  });

  it('with gRPC unreachable the call goes to the HTTPS shim', async () => {
    const socket = await listener('tls-fallback');
    const got = waitFor(socket, 'via-https', 5000);
    const args = ['emit', '--room', 'tls-fallback', '--event', 'via-https', '--data', '1'];
    const r = await expectExit(0, args, { env: tlsEnv({ ROOMCAST_GRPC_TARGET: `localhost:${await closedPort()}` }) });
    assert.match(r.stderr, new RegExp(`HTTP shim at https://localhost:${server.port}`), show(args, r));
    assert.equal(await got, 1);
  });

  it('never falls back to plain HTTP: an http:// URL with TLS settings is refused up front (exit 2)', async () => {
    for (const [name, overrides] of [
      ['INTERNAL_API_URL', { INTERNAL_API_URL: `http://localhost:${server.port}` }],
      ['SOCKET_SERVER_URL', { SOCKET_SERVER_URL: `http://localhost:${server.port}` }],
    ]) {
      const args = name === 'INTERNAL_API_URL' ? ['emit', '--event', 'never'] : ['tail', '--room', 'never'];
      const r = await expectExit(2, args, { env: tlsEnv(overrides) });
      assert.match(r.stderr, new RegExp(`${name}.*(no plain|must be https)`, 'i'), show(args, r));
    }
  });

  it('a server certificate from another CA is refused by emit and by tail (exit 1, says why)', async () => {
    const wrong = tlsEnv({ ROOMCAST_CA_FILE: otherCa });
    const emitArgs = ['emit', '--event', 'untrusted'];
    const emitted = await expectExit(1, emitArgs, { env: wrong });
    assert.match(emitted.stderr, /certificate|handshake|ssl|tls/i, show(emitArgs, emitted));
    const tailArgs = ['tail', '--room', 'untrusted'];
    const tailed = await expectExit(1, tailArgs, { env: wrong });
    assert.match(tailed.stderr, /certificate verify failed/i, show(tailArgs, tailed));
  });

  it('bad TLS settings are named: a certificate without its key, a missing CA file (exit 2)', async () => {
    const noKey = await expectExit(2, ['status'], { env: tlsEnv({ ROOMCAST_CLIENT_KEY_FILE: '' }) });
    assert.match(noKey.stderr, /ROOMCAST_CLIENT_KEY_FILE/, noKey.stderr);
    const missing = await expectExit(2, ['status'], { env: tlsEnv({ ROOMCAST_CA_FILE: path.join(dir, 'nope.pem') }) });
    assert.match(missing.stderr, /ROOMCAST_CA_FILE.*nope\.pem/, missing.stderr);
  });
});

// `roomcast top` in a real terminal: tmux runs it in a detached session at a
// fixed size while sockets are connected and a bounded emit load runs;
// capture-pane reads the screen. Also --iterations for scripts, q quits, and
// --cluster shows every node's rates (another node's emits seen from this one).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { api, pollUntil } from '../support/control.js';
import { useCluster } from '../support/cluster.js';
import { redisAvailable } from '../support/redis.js';
import { startRoomcastd, buildDir } from '../support/process.js';
import { baseUrl, connect, sleep } from '../support/sio.js';

const roomcastPath = path.join(buildDir, 'clients/cli/roomcast');
const execFileAsync = promisify(execFile);
const kSockets = 3;
const session = `roomcast-top-${process.pid}`;

function tmux(...args) {
  return execFileSync('tmux', args, { encoding: 'utf8', timeout: 5000 });
}

describe('roomcast top', () => {
  let server;
  const sockets = [];

  before(async () => {
    server = await startRoomcastd([]);
    for (let i = 0; i < kSockets; i += 1) {
      sockets.push(await connect(baseUrl(server.port), { auth: { rooms: ['top-room'] } }));
    }
  });

  after(async () => {
    try {
      tmux('kill-session', '-t', session);
    } catch {}
    for (const socket of sockets) socket.close();
    await server?.stop();
  });

  it('shows the connections and emits/s during a load, and quits on q', async () => {
    const env = `ROOMCAST_GRPC_TARGET=localhost:${server.grpcPort} INTERNAL_API_URL=http://127.0.0.1:${server.port}`;
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `env ${env} ${roomcastPath} top; sleep 30`);
    // A bounded load: at most 8 s, 40 emits a second, into the room.
    const until = Date.now() + 8000;
    let screen = '';
    let sawRate = false;
    while (Date.now() < until && !sawRate) {
      for (let i = 0; i < 8; i += 1) {
        await api(server.port, 'POST', '/v1/emit', { room: 'top-room', event: 'tick', data: i });
      }
      await sleep(200);
      screen = tmux('capture-pane', '-p', '-t', session);
      const rate = /emits\/s ([\d.]+)/.exec(screen);
      sawRate = rate !== null && Number(rate[1]) > 0;
    }
    assert.ok(sawRate, `emits/s > 0 during the load:\n${screen}`);
    assert.match(screen, new RegExp(`connections ${kSockets} `), screen);
    const deliveries = /deliveries\/s ([\d.]+)/.exec(screen);
    assert.ok(deliveries && Number(deliveries[1]) > 0, screen);
    assert.match(screen, /top rooms\n\s+3\s+\/ top-room/, screen);
    assert.match(screen, /p99 emit [\d.]+ ms/);
    tmux('send-keys', '-t', session, 'q');
    // After q the command ends (the pane then runs `sleep`): no `roomcast top` process is left.
    const topRunning = () =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .some((p) => p.startsWith(`${roomcastPath} top`));
    await pollUntil(() => !topRunning(), { timeoutMs: 3000, what: 'top to quit on q' });
    console.log(`screen during the load:\n${screen}`);
  });

  it('quits on Ctrl-C and gives the terminal back', async () => {
    const name = `${session}-int`;
    const env = `ROOMCAST_GRPC_TARGET=localhost:${server.grpcPort}`;
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '30', `env ${env} ${roomcastPath} top; stty -a | tr ' ' '\\n' | grep -x -- '-\\?echo' ; sleep 30`);
    try {
      await pollUntil(() => /connections \d+/.test(tmux('capture-pane', '-p', '-t', name)), { timeoutMs: 5000, what: 'a frame' });
      tmux('send-keys', '-t', name, 'C-c');
      // After top: `stty -a` prints `echo` (restored), not `-echo`.
      await pollUntil(() => /^echo$/m.test(tmux('capture-pane', '-p', '-t', name)), { timeoutMs: 3000, what: 'echo restored after Ctrl-C' });
    } finally {
      tmux('kill-session', '-t', name);
    }
  });

  it('--iterations=2 prints two frames and exits 0, without ANSI codes when not a terminal', async () => {
    const out = execFileSync(roomcastPath, ['top', '--iterations=2', '--cluster'], {
      encoding: 'utf8',
      timeout: 10000,
      env: { ...process.env, ROOMCAST_GRPC_TARGET: `localhost:${server.grpcPort}` },
    });
    assert.equal(out.match(/roomcast top {2}node/g)?.length, 2, out);
    assert.ok(!out.includes('\x1b['), 'no escape codes into a pipe');
    assert.match(out, new RegExp(`connections ${kSockets} `));
    assert.match(out, /cluster: 1 node\(s\), 3 socket\(s\)/);
  });

  it('--iterations=0 is a usage error', async () => {
    let code = 0;
    try {
      execFileSync(roomcastPath, ['top', '--iterations=0'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      code = error.status;
    }
    assert.equal(code, 2);
  });
});

describe('roomcast top --cluster', { skip: !redisAvailable() && 'redis-server is not installed' }, () => {
  const cluster = useCluster({ nodes: 2 });

  it("shows another node's emits/s and deliveries/s, and the cluster's", async () => {
    await cluster.connect(1, { auth: { rooms: ['far-room'] } });
    const [near, far] = cluster.nodes;
    const top = execFileAsync(roomcastPath, ['top', '--cluster', '--iterations=6'], {
      encoding: 'utf8',
      timeout: 15000,
      env: { ...process.env, ROOMCAST_GRPC_TARGET: `localhost:${near.grpcPort}` },
    });
    // A bounded load on node 1 only, while top (asking node 0) runs: 6 s at most, 40 emits a second.
    const until = Date.now() + 6000;
    let done = false;
    top.finally(() => (done = true));
    while (!done && Date.now() < until) {
      for (let i = 0; i < 8; i += 1) {
        await api(far.port, 'POST', '/v1/emit', { room: 'far-room', event: 'tick', data: i });
      }
      await sleep(200);
    }
    const { stdout } = await top;
    const farId = (await cluster.status(1)).nodeId;
    const nearId = (await cluster.status(0)).nodeId;
    const lastFrame = stdout.slice(stdout.lastIndexOf('roomcast top'));
    const rate = (line, what) => Number(new RegExp(`${what}/s ([\\d.]+)`).exec(line)?.[1]);
    const nodeLine = (id) => lastFrame.split('\n').find((l) => l.startsWith(`  ${id} `));
    const farLine = nodeLine(farId);
    const nearLine = nodeLine(nearId);
    const clusterLine = lastFrame.split('\n').find((l) => l.startsWith('cluster:'));
    assert.ok(farLine && nearLine && clusterLine, lastFrame);
    assert.match(clusterLine, /2 node\(s\), 1 socket\(s\)/, lastFrame);
    assert.ok(rate(farLine, 'emits') > 0 && rate(farLine, 'deliveries') > 0, `node 1 busy:\n${lastFrame}`);
    assert.equal(rate(nearLine, 'emits'), 0, `node 0 idle:\n${lastFrame}`);
    assert.ok(rate(clusterLine, 'emits') >= rate(farLine, 'emits'), lastFrame);
    // This node's own line (no cluster) still counts only what it took.
    assert.equal(rate(lastFrame.split('\n').find((l) => l.startsWith('emits/s')), 'emits'), 0, lastFrame);
  });
});

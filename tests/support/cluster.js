// Several roomcastd nodes on one redis-server, all on loopback: the shape of
// a deployment with REDIS_URL behind a load balancer.
import { after, before } from 'node:test';
import { startRoomcastd } from './process.js';
import { stopServer } from './fixtures.js';
import { startRedis } from './redis.js';
import { api, okJson, parsePrometheus, findSamples } from './control.js';
import { baseUrl, closeAll, connect } from './sio.js';

// Fast heartbeats so membership tests take seconds, not the default 15.
export const kHeartbeatMs = 300;

/**
 * Registers before/after hooks for a redis-server and `nodes` roomcastd on it
 * (`env`: more environment for them, read when they start).
 * The fixture's fields are filled in `before`: redis, nodes[i] (server),
 * port(i), connect(i, opts, nsp), status(i), metric(i, name).
 */
export function useCluster({ nodes = 3, flags = [], env = {} } = {}) {
  const sockets = [];
  const fixture = {
    redis: null,
    nodes: [],
    port: (i) => fixture.nodes[i].port,
    url: (i, nsp = '') => baseUrl(fixture.nodes[i].port) + nsp,
    async connect(i, opts = {}, nsp = '') {
      const socket = await connect(fixture.url(i, nsp), opts);
      sockets.push(socket);
      return socket;
    },
    track(socket) {
      sockets.push(socket);
      return socket;
    },
    async startNode(extra = []) {
      return startRoomcastd(nodeFlags(fixture.redis.url, [...flags, ...extra]), { env });
    },
    async status(i) {
      return okJson(await api(fixture.nodes[i].port, 'GET', '/api/socket/status'));
    },
    async metric(i, name, labels = {}) {
      const res = await api(fixture.nodes[i].port, 'GET', '/metrics');
      const samples = findSamples(parsePrometheus(res.body), name, labels);
      return samples.length === 1 ? samples[0].value : undefined;
    },
    closeSockets: () => closeAll(sockets),
  };
  before(async () => {
    fixture.redis = await startRedis();
    for (let i = 0; i < nodes; ++i) {
      fixture.nodes.push(await fixture.startNode());
    }
  });
  after(async () => {
    closeAll(sockets);
    for (const node of fixture.nodes) await stopServer(node);
    await fixture.redis?.stop();
  });
  return fixture;
}

export function nodeFlags(redisUrl, flags = []) {
  return [`--redis_url=${redisUrl}`, `--cluster_heartbeat_ms=${kHeartbeatMs}`, ...flags];
}

/** Joins `rooms` with the join event; resolves the ack. */
export function join(socket, rooms) {
  return new Promise((resolve) => socket.emit('join', rooms, resolve));
}

// A loopback TCP proxy between a client and roomcastd, for the tests that
// need a connection to break in a controlled way (connection state recovery):
// cut every connection at once (the client sees a transport close), go silent
// without closing anything (both sides hit their ping timeouts), refuse new
// connections (hold a client off while events are emitted), and switch the
// backend (a client whose node died reconnects to another one).
//
//   const proxy = await startProxy({ target: server.port });
//   io(proxy.url, ...);
//   proxy.refuse(true); proxy.dropAll(); ...emit...; proxy.refuse(false);
//   proxy.target = otherServer.port;
//   proxy.blackhole(true); ...both sides time out...; proxy.blackhole(false);
//   await proxy.close();
//
// It listens on 127.0.0.1 only and connects to 127.0.0.1 only; connections
// past `maxConnections` (open plus held) are closed at once.
import net from 'node:net';
import { withTimeout } from './sio.js';

const kHost = '127.0.0.1';

/**
 * Starts a proxy on 127.0.0.1:0 forwarding to 127.0.0.1:`target`.
 * Resolves the proxy: port, url, target (settable), connections (accepted in
 * total), refused (closed at once by refuse mode or the bound), active (pairs
 * open now), held (waiting in blackhole mode), dropAll(), blackhole(on),
 * refuse(on), waitForConnections(n, ms), close().
 */
export async function startProxy({ target, maxConnections = 64 } = {}) {
  const pairs = new Set();
  const held = new Set();
  let refusing = false;
  let silent = false;
  let closed = false;

  const proxy = {
    port: 0,
    target,
    connections: 0,
    refused: 0,
    get url() {
      return `http://${kHost}:${proxy.port}`;
    },
    get active() {
      return pairs.size;
    },
    get held() {
      return held.size;
    },

    /** Destroys every piped connection (and every held one): both ends see the TCP connection close. */
    dropAll() {
      for (const pair of [...pairs]) destroyPair(pair);
      for (const client of [...held]) {
        held.delete(client);
        client.destroy();
      }
    },

    /**
     * on: open connections stay open but nothing is forwarded either way (bytes
     * are discarded, a close on one side is not passed on), and new connections
     * are accepted but held, unforwarded and unread. off: the connections that
     * were open during the silence are destroyed (their byte streams have gaps),
     * and the held ones are connected to the current target and forwarded from
     * their first byte.
     */
    blackhole(on) {
      if (on) {
        silent = true;
        for (const pair of pairs) pair.tainted = true;
        return;
      }
      silent = false;
      for (const pair of [...pairs]) {
        if (pair.tainted) destroyPair(pair);
      }
      for (const client of [...held]) {
        held.delete(client);
        if (!client.destroyed) pipe(client);
      }
    },

    /** on: every new connection is closed as soon as it is accepted; open ones are left alone. */
    refuse(on) {
      refusing = Boolean(on);
    },

    /** Resolves once `n` connections have been accepted in total; rejects after `ms`. */
    async waitForConnections(n, ms = 5000) {
      const deadline = Date.now() + ms;
      while (proxy.connections < n) {
        if (Date.now() > deadline) {
          throw new Error(`proxy: ${proxy.connections} connections accepted, waited ${ms} ms for ${n}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },

    /** Stops listening and destroys every connection. */
    async close() {
      if (closed) return;
      closed = true;
      proxy.dropAll();
      await withTimeout(new Promise((resolve) => server.close(() => resolve())), 3000, 'proxy close');
    },
  };

  function destroyPair(pair) {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  }

  // Forwards `from` to `to` unless the proxy is silent, with back-pressure.
  function forward(pair, from, to) {
    from.on('data', (chunk) => {
      if (silent || pair.tainted) return;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    const gone = () => {
      // In silence a close is not passed on: the other side must time out.
      if (silent && pair.tainted) return;
      if (pairs.has(pair)) destroyPair(pair);
    };
    from.on('end', gone);
    from.on('close', gone);
    from.on('error', gone);
  }

  function pipe(client) {
    const upstream = net.connect({ host: kHost, port: proxy.target });
    const pair = { client, upstream, tainted: false };
    pairs.add(pair);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    forward(pair, client, upstream);
    forward(pair, upstream, client);
    // The client was accepted paused: read it once the backend answers
    // (writes before that would be buffered anyway, but a refused backend
    // should close the client without having read anything).
    upstream.once('connect', () => client.resume());
  }

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    proxy.connections += 1;
    client.on('error', () => {});
    if (closed || refusing || pairs.size + held.size >= maxConnections) {
      proxy.refused += 1;
      client.destroy();
      return;
    }
    if (silent) {
      held.add(client);
      client.once('close', () => held.delete(client));
      return;
    }
    pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, kHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  proxy.port = server.address().port;
  return proxy;
}

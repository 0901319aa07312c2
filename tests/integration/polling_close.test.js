// A server-side close of a polling session while no GET is pending: the next
// GET learns of it (`6␞1`), the one after gets 400 "Session ID unknown".
// Checked against the reference socket.io server in the same run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Server } from 'socket.io';
import { startRoomcastd } from '../support/process.js';
import { RS, pollGet, pollingHandshake } from '../support/raw.js';
import { sleep } from '../support/sio.js';

const kConnectTimeoutMs = 300;

async function startReference() {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { connectTimeout: kConnectTimeoutMs });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return { port: httpServer.address().port, stop: () => new Promise((resolve) => io.close(() => resolve())) };
}

/** A session that never sends CONNECT: the connect timeout closes it while no GET is pending. */
async function closedWhileNoPollPending(port) {
  const { sid } = await pollingHandshake(port);
  await sleep(kConnectTimeoutMs + 300);
  const first = await pollGet(port, sid);
  const second = await pollGet(port, sid);
  return { first: { status: first.status, body: first.body }, second: { status: second.status, body: second.body } };
}

describe('polling: a close while no GET is pending', () => {
  let roomcast;
  let reference;
  before(async () => {
    roomcast = await startRoomcastd([`--connect_timeout_ms=${kConnectTimeoutMs}`]);
    reference = await startReference();
  });
  after(async () => {
    await roomcast?.stop();
    await reference?.stop();
  });

  it('the next GET gets noop + close, then the session is gone: as the reference server', async () => {
    const [ours, theirs] = await Promise.all([closedWhileNoPollPending(roomcast.port), closedWhileNoPollPending(reference.port)]);
    assert.deepEqual(theirs.first, { status: 200, body: `6${RS}1` }, 'reference: first GET');
    assert.equal(theirs.second.status, 400, 'reference: second GET');
    assert.deepEqual(ours, theirs);
  });
});

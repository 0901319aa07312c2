// A real socket.io-client for tests driven from other languages: connects to
// URL, joins ROOMS (comma-separated) and prints `joined`, then one JSON line
// per EVENT received ({"event","args"}), until stdin closes.
//   node sio_listener.mjs http://localhost:3001 room1,room2 event1,event2
import { io } from 'socket.io-client';

const [url, rooms, events] = process.argv.slice(2);
const socket = io(url, { transports: ['websocket'], reconnection: false });
for (const event of events.split(',')) {
  socket.on(event, (...args) => process.stdout.write(`${JSON.stringify({ event, args })}\n`));
}
socket.on('connect', async () => {
  const ack = await socket.timeout(5000).emitWithAck('join', rooms.split(','));
  process.stdout.write(`joined ${JSON.stringify(ack)}\n`);
});
socket.on('connect_error', (error) => {
  process.stderr.write(`connect_error ${error.message}\n`);
  process.exit(1);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

// Compiled (not run) by types.test.mjs: the published declarations as a
// TypeScript service uses them, the README's route handler included (with
// the standard Response in place of next/server's NextResponse).
import { RoomcastClient, RoomcastError, type EmitResponse, type HistoryEvent, type HistoryRequest, type RoomcastErrorCode } from '@roomcast/client';

const globalForRoomcast = globalThis as unknown as { roomcast?: RoomcastClient };
export const roomcast = globalForRoomcast.roomcast ?? new RoomcastClient();
if (process.env.NODE_ENV !== 'production') globalForRoomcast.roomcast = roomcast;

export async function POST(request: Request): Promise<Response> {
  const { orderId } = (await request.json()) as { orderId: string };
  try {
    const result: EmitResponse = await roomcast.emit({
      room: `order:${orderId}`,
      event: 'order.updated',
      data: { orderId, status: 'shipped' },
    });
    return Response.json({ delivered: Number(result.recipients) });
  } catch (err) {
    if (err instanceof RoomcastError) {
      const code: RoomcastErrorCode = err.code;
      return Response.json({ error: code, message: err.message }, { status: err.code === 'INVALID_ARGUMENT' ? 400 : 502 });
    }
    throw err;
  }
}

export async function everything(client: RoomcastClient): Promise<void> {
  const signal = AbortSignal.timeout(1000);
  await client.emit({ rooms: ['a'], exceptRooms: ['b'], event: 'e', dataJson: '{"x":1}', volatile: true }, { deadlineMs: 100, signal });
  const batch = await client.emitBatch([{ room: 'a', event: 'e' }]);
  const first: string | undefined = batch.results[0]?.emitted?.offset ?? batch.results[0]?.error?.code;
  const emitted: EmitResponse | undefined = batch.results[0]?.emitted;
  const status = await client.status({ topRooms: 3 });
  const grpcEmits: string | undefined = status.counters?.emitsByTransport.grpc;
  const health = await client.health();
  const serving: boolean = health.status === 'SERVING' || health.status === 'DEGRADED';
  await client.joinRooms({ sockets: { userId: 'u' }, rooms: ['vip'] });
  await client.leaveRooms({ sockets: { socketId: 's' }, rooms: ['vip'] });
  await client.disconnectSockets({ sockets: { room: 'r' }, closeConnection: true });
  const { sockets } = await client.listRoomSockets({ room: 'r' });
  const ids: string[] = sockets.map((s) => s.id);
  const since: HistoryRequest = { namespace: '/', room: 'r', afterOffset: emitted?.offset ?? 0n, limit: 10, reverse: true };
  const { events } = await client.history(since);
  const newest: HistoryEvent | undefined = (await client.history()).events[0];
  const replay: Array<[string, string, unknown[] | undefined, string | undefined]> = events.map((e) => [e.offset, e.event, e.args, e.time]);
  const { fallbacks, lastTransport } = client.stats;
  const transport: 'grpc' | 'http' | null = lastTransport;
  void [first, emitted?.epoch, grpcEmits, serving, ids, newest?.epoch, newest?.rooms, replay, fallbacks, transport];
  await client.close();
}

export const configured = new RoomcastClient({
  grpcTarget: 'localhost:50051',
  httpUrl: 'http://localhost:3001',
  apiKey: 'key',
  transport: 'auto',
  deadlineMs: 5000,
  maxAttempts: 5,
  retryableCodes: ['UNAVAILABLE'],
  logger: { warn: (message: string) => console.warn(message) },
});

// @ts-expect-error: event is required
void configured.emit({ room: 'a' });
// @ts-expect-error: limit is a number
void configured.history({ limit: '10' });

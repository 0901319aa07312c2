// Compiled (not run) by types.test.mjs: the published declarations as a
// TypeScript service uses them, the README's route handler included (with
// the standard Response in place of next/server's NextResponse), and the
// client events API. (The README's webhook route is type-checked by
// webhook_route.test.mjs, from the README itself.)
import {
  RoomcastClient,
  RoomcastError,
  type AckClientEventResponse,
  type EmitResponse,
  type EmitWithAckResponse,
  type HistoryEvent,
  type HistoryRequest,
  type ReceiveClientEventsOptions,
  type ReceivedClientEvent,
  type RoomcastErrorCode,
  type StreamRetry,
  type WebhookClientEvent,
} from '@roomcast/client';

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

export async function clientEvents(client: RoomcastClient): Promise<void> {
  const controller = new AbortController();
  const options: ReceiveClientEventsOptions = {
    signal: controller.signal,
    onReady: () => undefined,
    onError: (error: RoomcastError, retry: StreamRetry) => {
      const code: RoomcastErrorCode = error.code;
      void [code, retry.attempt, retry.delayMs];
    },
    initialBackoffMs: 50,
    maxBackoffMs: 1000,
  };
  const events = client.receiveClientEvents({ namespace: '/', events: ['chat:send'], group: 'g', lifecycle: true }, options);
  for await (const event of events) {
    const e: ReceivedClientEvent = event;
    const when: Date = e.time;
    const args: unknown[] = e.args;
    const subject: unknown = e.claims?.sub;
    const kind: string = e.kind;
    const binary: Buffer | undefined = e.attachments[0];
    if (e.wantsAck && e.ack) await e.ack({ ok: true }, 2);
    void [when, args, subject, kind, binary, e.id, e.timeMs, e.rooms, e.nodeId, e.userId, e.socketId, e.reason, e.namespace];
    break;
  }
  await events.return?.();
  const acked: AckClientEventResponse = await client.ack('node.1', { ok: true }, 'second argument');
  await client.ackClientEvent({ id: 'node.2', argsJson: '[1]' }, { deadlineMs: 100 });
  await client.ackClientEvent({ id: 'node.3', args: [null] });
  const asked: EmitWithAckResponse = await client.emitWithAck({ room: 'r', event: 'q', data: { a: 1 }, timeoutMs: 1000 });
  await client.emitWithAck({ socketId: 's', event: 'q', dataJson: '1' }, { signal: controller.signal });
  const replyArgs: unknown[] | undefined = asked.replies[0]?.args;
  const replyBytes: Buffer[] | undefined = asked.replies[0]?.attachments;
  const silent: string[] = asked.timedOut;
  const status = await client.status();
  const streams: string | undefined = status.clientEvents?.streams;
  const draining: boolean = status.draining;
  const unavailable: string | undefined = status.counters?.clientEventsUnavailable;
  void [acked, replyArgs, replyBytes, silent, streams, draining, unavailable];
}

export function describeHook(event: WebhookClientEvent): string {
  return `${event.id} ${event.event} ${event.args.length} ${new Date(event.time).toISOString()}`;
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
// @ts-expect-error: event is required
void configured.emitWithAck({ room: 'a' });
// @ts-expect-error: an ack names its event by id
void configured.ack();
// @ts-expect-error: events is a list
void configured.receiveClientEvents({ events: 'chat:send' });

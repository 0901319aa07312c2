// roomcast.v1 messages in their proto3 JSON form (lowerCamelCase names,
// 64-bit integers as strings, enums as names): what the HTTP shim speaks, and
// what every RoomcastClient method takes and returns over either transport.

/** An event for the browsers in some rooms of a namespace. */
export interface EmitRequest {
  /** Socket.IO namespace; empty or absent means "/". */
  namespace?: string;
  /** One room; merged with `rooms`. */
  room?: string;
  /** Rooms to reach; with `room` also absent, every socket of the namespace. */
  rooms?: string[];
  /** Sockets in any of these rooms are skipped. */
  exceptRooms?: string[];
  /** The event name the browsers listen to. */
  event: string;
  /** The event's argument: anything JSON.stringify accepts. */
  data?: unknown;
  /** The argument as JSON text (or its UTF-8 bytes), sent as is; instead of `data`. */
  dataJson?: string | Uint8Array;
  /** May be dropped for a browser whose connection is busy. */
  volatile?: boolean;
  /**
   * A repeat of this key (per namespace, within the server's idempotency
   * window) delivers nothing and answers the first result with
   * `duplicate: true`. The client generates one (crypto.randomUUID) when
   * absent, and keeps it across retries and the gRPC → HTTP fallback.
   */
  idempotencyKey?: string;
}

export interface EmitResponse {
  /** Sockets on this node that queued the event (uint64 as a string). */
  recipients: string;
  /** The event's position in its namespace's log (uint64 as a string; "0" for a volatile event, which is not logged). */
  offset: string;
  /** True when this key was seen before (an earlier attempt delivered it): nothing was sent now. */
  duplicate: boolean;
  /** The log that assigned `offset`; it changes only when a log is reset, so (epoch, offset) names one event for good. */
  epoch: string;
}

export interface EmitBatchRequest {
  /** Applied in order. */
  emits: EmitRequest[];
}

/** One item's outcome: `emitted` or `error`. */
export interface EmitBatchResult {
  emitted?: EmitResponse;
  error?: { code: string; message: string };
}

export interface EmitBatchResponse {
  /** One per request, in the same order. */
  results: EmitBatchResult[];
}

export interface StatusRequest {
  /** How many of the largest rooms to list (default 10). */
  topRooms?: number;
}

export interface NamespaceStatus {
  name: string;
  sockets: string;
  rooms: string;
}

export interface RoomSize {
  namespace: string;
  room: string;
  members: string;
}

export interface Counters {
  /** Emits accepted, by the transport that carried them: "grpc" or "http". */
  emitsByTransport: Record<string, string>;
  deliveries: string;
  dropsByReason: Record<string, string>;
  sessionsOpened: string;
  protocolErrors: string;
  /** Events browsers sent (anything but join, leave, rooms and broadcast). */
  clientEvents: string;
  /** Client events no service takes (no stream asked for them, no webhook): a browser waiting for an ack hears `unavailable`. */
  clientEventsUnavailable: string;
  /** Browsers' acks a service answered. */
  clientAcks: string;
  /** Browsers' acks nobody answered in time (the browser hears `timeout`). */
  clientAcksTimedOut: string;
}

/** The ReceiveClientEvents streams as a node sees them. */
export interface ClientEventsStatus {
  /** Open on this node. */
  streams: string;
  /** Open on the other nodes, as this node last heard. */
  remoteStreams: string;
  /** Browsers' acks waiting for a service. */
  pendingAcks: string;
}

export interface LatencySummary {
  count: string;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export interface StatusResponse {
  connections: string;
  namespaces: NamespaceStatus[];
  rooms: string;
  topRooms: RoomSize[];
  nodeId: string;
  version: string;
  uptimeSeconds: string;
  counters?: Counters;
  emitLatency?: LatencySummary;
  /** Every live node of the cluster, this one included (one entry without Redis). */
  nodes: NodeStatus[];
  cluster?: ClusterStatus;
  /** SIGTERM arrived: the node is leaving (its client event streams end with UNAVAILABLE). */
  draining: boolean;
  clientEvents?: ClientEventsStatus;
}

export interface NodeStatus {
  id: string;
  address: string;
  sockets: string;
  rooms: string;
  /** RFC 3339, from the node's last heartbeat. */
  lastHeartbeat?: string;
  version: string;
  /** Totals since the node started, as of sampledAt: two Status calls give its rates. */
  emits: string;
  deliveries: string;
  drops: string;
  /** RFC 3339: now for the node that answered, the last heartbeat for the others. */
  sampledAt?: string;
}

export interface ClusterStatus {
  nodes: string;
  sockets: string;
  /** Set when the cluster could not be asked: the figures are this node's alone. */
  error: string;
}

/** The existing deployment's connectivity check (`POST /api/socket/status`). */
export interface SendTestEventRequest {
  testRoom: string;
  testEvent?: string;
  testData?: unknown;
  namespace?: string;
}

export interface SendTestEventResponse {
  success: boolean;
  recipients: string;
  room: string;
  event: string;
}

export type ServingStatus = 'SERVING_STATUS_UNSPECIFIED' | 'SERVING' | 'DEGRADED' | 'NOT_SERVING';

export interface HealthCheck {
  name: string;
  status: ServingStatus;
  latencyMs: number;
  detail: string;
}

export interface HealthResponse {
  status: ServingStatus;
  checks: HealthCheck[];
  uptimeSeconds: string;
}

/** Which sockets a management call acts on: one of socketId, room or userId. */
export interface SocketSelector {
  namespace?: string;
  socketId?: string;
  room?: string;
  /** Every socket of that user (they share the room `user:<id>`). */
  userId?: string;
}

export interface ChangeRoomsRequest {
  sockets: SocketSelector;
  rooms: string[];
}

export interface ChangeRoomsResponse {
  /** Sockets the change applied to. */
  sockets: string;
}

export interface DisconnectSocketsRequest {
  sockets: SocketSelector;
  /** Also close the underlying connection (every namespace of that client). */
  closeConnection?: boolean;
}

export interface DisconnectSocketsResponse {
  sockets: string;
}

export interface ListRoomSocketsRequest {
  namespace?: string;
  room: string;
  /** Sockets per page (default 1000, at most 10000). */
  pageSize?: number;
  /** The previous page's nextPageToken. */
  pageToken?: string;
}

export interface SocketInfo {
  id: string;
  rooms: string[];
  /** The node the socket is connected to. */
  nodeId: string;
}

export interface ListRoomSocketsResponse {
  /** Sorted by id, over every node of the cluster. */
  sockets: SocketInfo[];
  /** Set when there may be more: pass it as pageToken. */
  nextPageToken: string;
}

/** Events the namespace's log still holds (bounded by the server's --event_log_size and --history_retention_s). */
export interface HistoryRequest {
  /** Socket.IO namespace; empty or absent means "/". */
  namespace?: string;
  /** Only events that targeted this room (a namespace-wide event targets every room); absent: all of them. */
  room?: string;
  /** Only events with a greater offset (uint64: an `offset` string as given, a bigint or a number); absent: from the oldest kept. */
  afterOffset?: string | bigint | number;
  /** Events to return, 1 to 1000 (default 100). */
  limit?: number;
  /** Newest first (still above afterOffset). */
  reverse?: boolean;
}

export interface HistoryEvent {
  /** The position the emit's answer gave (uint64 as a string). */
  offset: string;
  epoch: string;
  event: string;
  /** The first argument (null when there was none). */
  data?: unknown;
  /** Every argument; binary ones as Socket.IO placeholders. */
  args?: unknown[];
  /** The rooms it targeted; empty: the whole namespace. */
  rooms: string[];
  exceptRooms: string[];
  /** When it was emitted, RFC 3339 (`2026-12-02T17:00:00.123Z`). */
  time?: string;
}

export interface HistoryResponse {
  /** Oldest first, or newest first with `reverse`. */
  events: HistoryEvent[];
}

// ---- Browser events to services (ReceiveClientEvents, AckClientEvent, EmitWithAck)

/** Which events browsers send a ReceiveClientEvents stream wants. */
export interface ReceiveClientEventsRequest {
  /** Socket.IO namespace; empty or absent means "/". */
  namespace?: string;
  /** Event names to receive; empty or absent means every event. */
  events?: string[];
  /**
   * Streams of one group share its events: each event goes to one open
   * stream of the group (round robin). Empty or absent: a group of this
   * stream's own (it gets every event it asked for).
   */
  group?: string;
  /** Also receive the sockets' presence: kinds `connect`, `disconnect`, `join` and `leave`. */
  lifecycle?: boolean;
}

/** What a ClientEvent is: an event a browser sent, or (with `lifecycle`) a change of its presence. */
export type ClientEventKind = 'event' | 'connect' | 'disconnect' | 'join' | 'leave';

/**
 * One event a browser sent, decoded: what `receiveClientEvents` yields.
 * For `join` and `leave`, `args` is `[[the rooms joined or left]]`; for
 * `connect` and `disconnect`, `[]`.
 */
export interface ReceivedClientEvent {
  /** Unique over the cluster: what `ack` names. */
  id: string;
  namespace: string;
  /** The event name (for lifecycle kinds, the kind). */
  event: string;
  /**
   * The arguments (the ack callback excluded), parsed from their JSON. A
   * binary argument is a Socket.IO placeholder `{_placeholder: true, num: N}`
   * standing for `attachments[N]`.
   */
  args: unknown[];
  /** The binary arguments the placeholders in `args` point to. */
  attachments: Buffer[];
  socketId: string;
  /** Set when the socket authenticated (its token's `sub`); empty otherwise. */
  userId: string;
  /** The authenticated socket's token claims; null for an anonymous socket. */
  claims: Record<string, unknown> | null;
  /** Every room the socket is in, its own id room excluded. */
  rooms: string[];
  /** The node the browser is connected to. */
  nodeId: string;
  /** The browser waits for an ack: answer with `ack(...)` (else it hears `timeout` after the server's --client_ack_timeout_ms). */
  wantsAck: boolean;
  /** When the node received it. */
  time: Date;
  /** The same, in Unix milliseconds. */
  timeMs: number;
  kind: ClientEventKind | (string & {});
  /** Why the socket disconnected (kind `disconnect`), e.g. `"transport close"`; empty otherwise. */
  reason: string;
  /**
   * Present when `wantsAck`: completes the browser's ack callback with
   * `args` (JSON values) as its arguments; `client.ack(event.id, ...args)`.
   * The first ack wins: a second one fails with FAILED_PRECONDITION.
   */
  ack?: (...args: unknown[]) => Promise<void>;
}

/** Completes a browser's ack callback (AckClientEvent). */
export interface AckClientEventRequest {
  /** The event's id. */
  id: string;
  /** The ack callback's arguments (JSON values); neither `args` nor `argsJson`: no arguments. */
  args?: unknown[];
  /** The arguments as JSON array text (or its UTF-8 bytes), sent as is; instead of `args`. */
  argsJson?: string | Uint8Array;
}

export type AckClientEventResponse = Record<string, never>;

/** An event to one socket, a room or a user's sockets, waiting for each one's ack. Give one of socketId, room, userId. */
export interface EmitWithAckRequest {
  /** Socket.IO namespace; empty or absent means "/". */
  namespace?: string;
  socketId?: string;
  room?: string;
  /** Every socket of that user. */
  userId?: string;
  /** The event name the browsers listen to: `socket.on(event, (data, callback) => callback(...))`. */
  event: string;
  /** The event's one argument: anything JSON.stringify accepts. */
  data?: unknown;
  /** The argument as JSON text (or its UTF-8 bytes), sent as is; instead of `data`. */
  dataJson?: string | Uint8Array;
  /** How long the server waits for the acks: default (and 0) 5000, at most 300000. The call's deadline is this plus a margin. */
  timeoutMs?: number;
}

/** One socket's answer to an EmitWithAck. */
export interface AckReply {
  socketId: string;
  /** The socket's ack arguments; binary ones as Socket.IO placeholders into `attachments`. */
  args: unknown[];
  /** The binary arguments the placeholders in `args` point to (empty when there are none). */
  attachments: Buffer[];
}

export interface EmitWithAckResponse {
  /** The sockets that answered in time, with their arguments. */
  replies: AckReply[];
  /** The ids of the sockets that did not answer in time. */
  timedOut: string[];
}

/**
 * The JSON body roomcastd POSTs to `--client_events_webhook` for a client
 * event no stream takes, signed with `x-roomcast-signature: sha256=<hex
 * HMAC-SHA256 of the raw body>`. Answer 2xx `{"ack": [...]}`: the browser's
 * ack arguments. A retry (after a 5xx or a timeout) has the same `id`.
 */
export interface WebhookClientEvent {
  id: string;
  namespace: string;
  event: string;
  /** The arguments; binary ones are Socket.IO placeholders into `attachments`. */
  args: unknown[];
  socketId: string;
  /** Empty for an anonymous socket. */
  userId: string;
  rooms: string[];
  /** When the node received the event, Unix milliseconds. */
  time: number;
  /** Base64, present when the event has binary arguments. */
  attachments?: string[];
}

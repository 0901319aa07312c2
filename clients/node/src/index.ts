// @roomcast/client: Roomcast's control plane (roomcast.v1.Roomcast) for
// Node.js services, over gRPC with the HTTP shim as fallback.
export { RoomcastClient } from './client';
export type { CallOptions, ClientStats, Logger, RoomcastClientOptions, TransportMode } from './client';
export type { ReceiveClientEventsOptions, StreamRetry } from './client-events';
export { RoomcastError, CODE_NAMES } from './errors';
export type { RoomcastErrorCode, Transport } from './errors';
export { isLocalhostName } from './address';
export type * from './types';

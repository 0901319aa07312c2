// grpcurl-style gRPC helpers on @grpc/grpc-js: service descriptors come from
// the server's reflection service (grpc-js-reflection-client, v1alpha), never
// from the local .proto files; requests are built from proto3 JSON, as
// `grpcurl -d '{...}'` does. grpc.health.v1 has a built-in definition, since
// a server's default health service need not be in its reflection data.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import reflectionClient from 'grpc-js-reflection-client';
import { withTimeout } from './sio.js';

const { GrpcReflection } = reflectionClient;

export { grpc };
export const kCallTimeoutMs = 3000;
const insecure = () => grpc.credentials.createInsecure();

/** host:port target for grpc-js; IPv6 literals in brackets. */
export function grpcTarget(port, host = '127.0.0.1') {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** grpc.Metadata from a plain object ({ authorization: 'Bearer k' }). */
export function metadataOf(headers = {}) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

/** Loader options: field names as in the .proto (snake_case), 64-bit ints and enums as strings. */
export const kLoaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/**
 * A reflection client (grpcurl's `list` / `describe`). Every call is bounded;
 * `headers` go out as metadata. close() ends its channel.
 */
// The reflection client rejects with `new Error(grpcError)`, which keeps only
// the message ("14 UNAVAILABLE: ..."): give the error its status code back.
function withStatusCode(err) {
  const match = err.code === undefined && /(?:^|Error: )(\d+) [A-Z_]+:/.exec(err.message ?? '');
  if (match) err.code = Number(match[1]);
  throw err;
}

export class Reflection {
  constructor(target, { headers, credentials } = {}) {
    this.target = target;
    this.credentials = credentials;
    this.client = new GrpcReflection(target, credentials ?? insecure(), {}, 'v1alpha');
    this.metadata = headers ? metadataOf(headers) : undefined;
  }

  options() {
    return { deadline: Date.now() + kCallTimeoutMs };
  }

  /** Fully qualified service names (grpcurl list). */
  listServices() {
    return withTimeout(this.client.listServices('*', this.metadata ?? new grpc.Metadata(), this.options()).catch(withStatusCode), kCallTimeoutMs + 500, `reflection list on ${this.target}`);
  }

  /** The protobufjs descriptor of the file defining `symbol` and its dependencies. */
  descriptorBySymbol(symbol) {
    return withTimeout(this.client.getDescriptorBySymbol(symbol, this.metadata ?? new grpc.Metadata(), this.options()).catch(withStatusCode), kCallTimeoutMs * 3, `reflection describe ${symbol} on ${this.target}`);
  }

  /** Loads `serviceName` from reflection into a callable ServiceClient (see below). */
  async service(serviceName, opts = {}) {
    const descriptor = await this.descriptorBySymbol(serviceName);
    return new ServiceClient(this.target, serviceName, descriptor, { credentials: this.credentials, ...opts });
  }

  close() {
    this.client.client?.close?.();
  }
}

/**
 * Calls the unary methods of one service described by reflection (over
 * `credentials`, grpc-js channel credentials; plaintext by default), with proto3
 * JSON requests (lowerCamelCase or proto field names; google.protobuf.Value /
 * Struct / ListValue as plain JSON; bytes as base64 or a Buffer).
 * Responses are plain objects with proto field names, 64-bit ints as strings.
 */
export class ServiceClient {
  constructor(target, serviceName, descriptor, { headers, credentials } = {}) {
    this.target = target;
    this.serviceName = serviceName;
    this.root = descriptor.getProtobufJsRoot();
    this.root.resolveAll();
    this.service = this.root.lookupService(serviceName);
    this.client = new grpc.Client(target, credentials ?? insecure());
    this.headers = headers ?? {};
  }

  /** Method names as the service declares them. */
  get methodNames() {
    return Object.keys(this.service.methods);
  }

  /**
   * Calls `method` with a proto3-JSON request. Resolves the response; rejects
   * with the grpc-js error (err.code, err.details) on a non-OK status.
   */
  call(method, json = {}, { headers = {}, timeoutMs = kCallTimeoutMs } = {}) {
    const m = this.service.methods[method];
    if (!m) throw new Error(`${this.serviceName} has no method ${method}`);
    if (m.requestStream || m.responseStream) throw new Error(`${this.serviceName}/${method} is not unary`);
    const requestType = this.root.lookupType(m.requestType);
    const responseType = this.root.lookupType(m.responseType);
    const request = fromProto3Json(requestType, json);
    const done = new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/${this.serviceName}/${method}`,
        (object) => Buffer.from(requestType.encode(requestType.fromObject(object)).finish()),
        (buffer) => responseType.toObject(responseType.decode(buffer), kToObject),
        request,
        metadataOf({ ...this.headers, ...headers }),
        { deadline: Date.now() + timeoutMs },
        (err, response) => (err ? reject(err) : resolve(response)),
      );
    });
    return withTimeout(done, timeoutMs + 1000, `${this.serviceName}/${method} on ${this.target}`);
  }

  close() {
    this.client.close();
  }
}

// Responses: 64-bit integers and enums as strings, defaults filled in, oneof names set.
const kToObject = { longs: String, enums: String, defaults: true, oneofs: true, bytes: String };

const lowerCamel = (name) => name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** The field of protobufjs `type` named `key` in proto3 JSON (lowerCamelCase) or as declared. */
function fieldOf(type, key) {
  return type.fieldsArray.find((f) => f.name === key || lowerCamel(f.name) === key);
}

/** A JSON value as a google.protobuf.Value object for protobufjs `valueType`. */
function jsonToValue(valueType, value) {
  const key = (camel) => fieldOf(valueType, camel).name;
  if (value === null) return { [key('nullValue')]: 0 };
  switch (typeof value) {
    case 'number':
      return { [key('numberValue')]: value };
    case 'string':
      return { [key('stringValue')]: value };
    case 'boolean':
      return { [key('boolValue')]: value };
    case 'object': {
      if (Array.isArray(value)) {
        const listType = fieldOf(valueType, 'listValue').resolvedType;
        return { [key('listValue')]: fromProto3Json(listType, value) };
      }
      const structType = fieldOf(valueType, 'structValue').resolvedType;
      return { [key('structValue')]: fromProto3Json(structType, value) };
    }
    default:
      throw new Error(`not JSON: ${String(value)}`);
  }
}

/**
 * Converts proto3 JSON for message type `type` (protobufjs reflection) into the
 * object protobufjs' fromObject takes. Unknown fields throw, as in grpcurl.
 */
export function fromProto3Json(type, json) {
  const fullName = type.fullName.replace(/^\./, '');
  if (fullName === 'google.protobuf.Value') return jsonToValue(type, json);
  if (fullName === 'google.protobuf.ListValue') {
    const values = fieldOf(type, 'values');
    return { [values.name]: json.map((v) => jsonToValue(values.resolvedType, v)) };
  }
  if (fullName === 'google.protobuf.Struct') {
    const fields = fieldOf(type, 'fields');
    return { [fields.name]: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, jsonToValue(fields.resolvedType, v)])) };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${fullName}: expected a JSON object, got ${JSON.stringify(json)}`);
  }
  const out = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fieldOf(type, key);
    if (!field) throw new Error(`${fullName} has no field "${key}"`);
    field.resolve();
    const isValue = field.resolvedType?.fullName === '.google.protobuf.Value';
    if (value === null && !isValue) continue;
    const one = (v) => {
      if (field.resolvedType && field.resolvedType.fields !== undefined) return fromProto3Json(field.resolvedType, v);
      if (field.type === 'bytes') return Buffer.isBuffer(v) ? v : Buffer.from(v, 'base64');
      return v;
    };
    if (field.map) {
      out[field.name] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v)]));
    } else if (field.repeated) {
      out[field.name] = value.map(one);
    } else {
      out[field.name] = one(value);
    }
  }
  return out;
}

// grpc.health.v1, as published in grpc/grpc-proto (health.proto).
const kHealthJson = {
  nested: {
    grpc: { nested: { health: { nested: { v1: { nested: {
      HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
      HealthCheckResponse: {
        fields: { status: { type: 'ServingStatus', id: 1 } },
        nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
      },
      Health: {
        methods: {
          Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' },
          Watch: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', responseStream: true },
        },
      },
    } } } } } },
  },
};

/** grpc.health.v1.Health client; check(service) resolves 'SERVING' | 'NOT_SERVING' | ... */
export class HealthClient {
  constructor(target, { headers } = {}) {
    const pkg = grpc.loadPackageDefinition(protoLoader.fromJSON(kHealthJson, kLoaderOptions));
    this.target = target;
    this.client = new pkg.grpc.health.v1.Health(target, insecure());
    this.headers = headers ?? {};
  }

  check(service = '', { timeoutMs = kCallTimeoutMs } = {}) {
    const done = new Promise((resolve, reject) => {
      this.client.Check({ service }, metadataOf(this.headers), { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(err) : resolve(res.status),
      );
    });
    return withTimeout(done, timeoutMs + 1000, `grpc.health.v1.Health/Check("${service}") on ${this.target}`);
  }

  close() {
    this.client.close();
  }
}

/** Runs `fn` and resolves the grpc-js error it rejects with; fails if it succeeds. */
export async function grpcError(promise) {
  try {
    const res = await promise;
    throw Object.assign(new Error(`expected a gRPC error, got OK ${JSON.stringify(res)}`), { unexpectedOk: true });
  } catch (err) {
    if (err.unexpectedOk) throw err;
    return err;
  }
}

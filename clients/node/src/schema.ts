// The API as the .proto files describe it: the gRPC method definitions
// (@grpc/proto-loader), each method's HTTP route (its google.api.http option),
// and the request checks both transports share, so a call fails the same way
// whichever transport would have carried it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { invalidArgument } from './errors';

export const SERVICE_NAME = 'roomcast.v1.Roomcast';
const kEntryProto = 'roomcast/v1/roomcast.proto';

/** proto-loader options: proto3 JSON field names, 64-bit integers and enums as strings. */
export const kLoaderOptions: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: false,
  json: true,
};

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface HttpRoute {
  verb: HttpVerb;
  path: string;
  /** `'*'`: the request is the JSON body; `''`: its fields are query parameters. */
  body: string;
}

export interface MethodSchema {
  name: string;
  definition: protoLoader.MethodDefinition<object, object>;
  requestType: string;
  responseType: string;
  /** null for a method the HTTP shim does not serve (ReceiveClientEvents, a server stream). */
  route: HttpRoute | null;
  /** The server answers with a stream of messages. */
  responseStream: boolean;
}

interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType?: Array<{ name: string; options?: { mapEntry?: boolean } | null }>;
}

/** Where the .proto files are: this package's copy, else the repository's protos/. */
export function defaultProtoDir(): string {
  const packageRoot = path.resolve(__dirname, '..');
  const candidates = [path.join(packageRoot, 'protos'), path.resolve(packageRoot, '../../protos')];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, kEntryProto))) return dir;
  }
  throw new Error(
    `@roomcast/client: ${kEntryProto} not found in ${candidates.join(' or ')} ` +
      '(run `npm run build`, or pass the protoDir option)',
  );
}

const kVerbs: HttpVerb[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];

type HttpRule = Record<string, unknown> & { additional_bindings?: HttpRule | HttpRule[]; additionalBindings?: HttpRule | HttpRule[] };

function bindingsOf(rule: HttpRule): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const verb of kVerbs) {
    const pathValue = rule[verb.toLowerCase()];
    if (typeof pathValue === 'string' && pathValue) {
      routes.push({ verb, path: pathValue, body: typeof rule.body === 'string' ? rule.body : '' });
    }
  }
  const extra = rule.additional_bindings ?? rule.additionalBindings;
  // proto-loader gives one additional binding as an object, several as an array.
  for (const binding of Array.isArray(extra) ? extra : extra ? [extra] : []) routes.push(...bindingsOf(binding));
  return routes;
}

/** The route the client uses: the versioned `/v1/` binding when there is one, else the first. */
export function chooseRoute(routes: HttpRoute[]): HttpRoute | undefined {
  return routes.find((r) => r.path.startsWith('/v1/')) ?? routes[0];
}

const lowerCamel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'boolean': return 'a boolean';
    case 'number': case 'bigint': return 'a number';
    case 'string': return 'a string';
    case 'object': return value instanceof Uint8Array ? 'bytes' : 'an object';
    default: return value === undefined ? 'undefined' : `a ${typeof value}`;
  }
}

const kNumeric = new Set([
  'TYPE_DOUBLE', 'TYPE_FLOAT', 'TYPE_INT64', 'TYPE_UINT64', 'TYPE_INT32', 'TYPE_FIXED64', 'TYPE_FIXED32',
  'TYPE_UINT32', 'TYPE_SFIXED32', 'TYPE_SFIXED64', 'TYPE_SINT32', 'TYPE_SINT64',
]);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * A loaded API: method definitions, routes, and the proto3-JSON checks of
 * requests. Loaded once per directory.
 */
export class Schema {
  private static readonly cache = new Map<string, Schema>();

  readonly protoDir: string;
  private readonly definition: protoLoader.PackageDefinition;
  private readonly methods = new Map<string, MethodSchema>();

  static load(protoDir?: string): Schema {
    const dir = path.resolve(protoDir ?? defaultProtoDir());
    let schema = Schema.cache.get(dir);
    if (!schema) {
      schema = new Schema(dir);
      Schema.cache.set(dir, schema);
    }
    return schema;
  }

  private constructor(protoDir: string) {
    this.protoDir = protoDir;
    this.definition = protoLoader.loadSync(kEntryProto, { ...kLoaderOptions, includeDirs: [protoDir] });
    const service = this.definition[SERVICE_NAME] as protoLoader.ServiceDefinition | undefined;
    if (!service) throw new Error(`${SERVICE_NAME} is not defined in ${protoDir}/${kEntryProto}`);
    for (const [name, method] of Object.entries(service)) {
      const rule = (method.options as Record<string, unknown> | undefined)?.['(google.api.http)'] as HttpRule | undefined;
      const route = rule ? chooseRoute(bindingsOf(rule)) : undefined;
      // Streams have no HTTP route (the shim speaks unary JSON only); every unary method has one.
      if (!route && !method.responseStream) throw new Error(`${SERVICE_NAME}/${name} has no google.api.http option`);
      this.methods.set(name, {
        name,
        definition: method as protoLoader.MethodDefinition<object, object>,
        requestType: this.typeNameOf(method.requestType, name),
        responseType: this.typeNameOf(method.responseType, name),
        route: route ?? null,
        responseStream: !!method.responseStream,
      });
    }
  }

  // proto-loader's method definitions carry a copy of the descriptor, not the
  // type's full name: find it in the service's package first.
  private typeNameOf(type: protoLoader.MessageTypeDefinition<object, object>, method: string): string {
    const shortName = (type.type as unknown as MessageDescriptor).name;
    const servicePackage = SERVICE_NAME.slice(0, SERVICE_NAME.lastIndexOf('.'));
    const names = Object.keys(this.definition);
    const found = names.find((n) => n === `${servicePackage}.${shortName}`) ?? names.find((n) => n.endsWith(`.${shortName}`));
    if (!found) throw new Error(`${SERVICE_NAME}/${method}: message type ${shortName} not found`);
    return found;
  }

  method(name: string): MethodSchema {
    const method = this.methods.get(name);
    if (!method) throw new Error(`${SERVICE_NAME} has no method ${name}`);
    return method;
  }

  get methodNames(): string[] {
    return [...this.methods.keys()];
  }

  /** The full name of `typeName` as written in a field of `scope` (protobuf's scoping rules). */
  private resolve(scope: string, typeName: string): string {
    if (typeName.startsWith('.')) return typeName.slice(1);
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i -= 1) {
      const candidate = [...parts.slice(0, i), typeName].join('.');
      if (this.definition[candidate]) return candidate;
    }
    return typeName;
  }

  private message(typeName: string): MessageDescriptor | undefined {
    const entry = this.definition[typeName.replace(/^\./, '')] as { format?: string; type?: MessageDescriptor } | undefined;
    return entry?.format?.includes('DescriptorProto') ? entry.type : undefined;
  }

  /**
   * Checks a request given in proto3 JSON (lowerCamelCase or proto field
   * names) and returns it with lowerCamelCase names, `undefined` and `null`
   * fields dropped. Unknown fields and wrong JSON types are INVALID_ARGUMENT,
   * as the HTTP shim answers them. Values of google.protobuf.Value fields and
   * bytes fields are kept as given.
   */
  normalize(typeName: string, input: unknown, at = ''): Record<string, unknown> {
    const type = this.message(typeName);
    if (!type) throw new Error(`unknown message type ${typeName}`);
    if (!isPlainObject(input)) {
      throw invalidArgument(`field '${at || '(body)'}': expected an object, got ${kindOf(input)}`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      const fieldPath = at ? `${at}.${key}` : key;
      const field = type.field.find((f) => f.name === key || f.name === lowerCamel(key));
      if (!field) throw invalidArgument(`unknown field '${fieldPath}'`);
      if (value === undefined) continue;
      if (value === null && field.typeName !== 'google.protobuf.Value') continue;
      if (field.label === 'LABEL_REPEATED' && !this.isMap(type, field)) {
        if (!Array.isArray(value)) throw invalidArgument(`field '${fieldPath}': expected an array, got ${kindOf(value)}`);
        out[field.name] = value.map((item, i) => this.single(typeName, field, item, `${fieldPath}[${i}]`));
      } else if (this.isMap(type, field)) {
        if (!isPlainObject(value)) throw invalidArgument(`field '${fieldPath}': expected an object, got ${kindOf(value)}`);
        out[field.name] = { ...value };
      } else {
        out[field.name] = this.single(typeName, field, value, fieldPath);
      }
    }
    return out;
  }

  private isMap(type: MessageDescriptor, field: FieldDescriptor): boolean {
    return field.type === 'TYPE_MESSAGE' && !!type.nestedType?.some((n) => n.name === field.typeName && n.options?.mapEntry);
  }

  private single(scope: string, field: FieldDescriptor, value: unknown, at: string): unknown {
    const wrong = (expected: string) => invalidArgument(`field '${at}': expected ${expected}, got ${kindOf(value)}`);
    switch (field.type) {
      case 'TYPE_STRING':
        if (typeof value !== 'string') throw wrong('a string');
        return value;
      case 'TYPE_BOOL':
        if (typeof value !== 'boolean') throw wrong('a boolean');
        return value;
      case 'TYPE_BYTES':
        if (typeof value !== 'string' && !(value instanceof Uint8Array)) throw wrong('bytes (a string or a Uint8Array)');
        return value;
      case 'TYPE_ENUM':
        if (typeof value !== 'string' && typeof value !== 'number') throw wrong('an enum name');
        return value;
      case 'TYPE_MESSAGE':
      case 'TYPE_GROUP':
        if (field.typeName.startsWith('google.protobuf.')) return value; // Value, Struct, ...: any JSON.
        return this.normalize(this.resolve(scope, field.typeName), value, at);
      default:
        if (kNumeric.has(field.type)) {
          if (typeof value === 'bigint') return value.toString();
          if (typeof value === 'number' && Number.isFinite(value)) return value;
          if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) return value;
          throw wrong('a number');
        }
        return value;
    }
  }

  /**
   * A gRPC answer (proto-loader's object) in the shim's JSON form: fields in
   * declaration order, unset message fields (null) left out, Value, ListValue,
   * Struct and Timestamp fields as the JSON they stand for.
   */
  fromGrpc(typeName: string, response: Record<string, unknown>): Record<string, unknown> {
    const type = this.message(typeName);
    if (!type) return response;
    const out: Record<string, unknown> = {};
    const known = new Set<string>();
    for (const field of type.field) {
      known.add(field.name);
      const value = response[field.name];
      if (value === null || value === undefined) continue;
      const nested = field.type === 'TYPE_MESSAGE' && !this.isMap(type, field) && !field.typeName.startsWith('google.protobuf.')
        ? this.resolve(typeName, field.typeName)
        : null;
      const wellKnown = field.type === 'TYPE_MESSAGE' ? kWellKnownToJson[field.typeName] : undefined;
      const one = (v: unknown) => (wellKnown ? wellKnown(v) : nested && isPlainObject(v) ? this.fromGrpc(nested, v) : v);
      out[field.name] = Array.isArray(value) ? value.map(one) : one(value);
    }
    for (const [key, value] of Object.entries(response)) {
      if (!known.has(key) && value !== null && value !== undefined) out[key] = value;
    }
    return out;
  }

  /**
   * A normalized request as the object proto-loader serializes: Value fields
   * as google.protobuf.Value objects, bytes (JSON text or its UTF-8 bytes) as
   * Buffers.
   */
  toGrpc(typeName: string, request: Record<string, unknown>): Record<string, unknown> {
    return this.convert(typeName, request, '', (field, value, at) => {
      if (field.typeName === 'google.protobuf.Value') return jsonToValue(value, at);
      if (field.type === 'TYPE_BYTES') return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value as Uint8Array);
      return value;
    });
  }

  /** A normalized request as the HTTP shim's JSON: bytes in base64, the rest as is. */
  toHttpJson(typeName: string, request: Record<string, unknown>): Record<string, unknown> {
    return this.convert(typeName, request, '', (field, value) => {
      if (field.type === 'TYPE_BYTES') {
        const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value as Uint8Array);
        return bytes.toString('base64');
      }
      return value;
    });
  }

  private convert(
    typeName: string,
    request: Record<string, unknown>,
    at: string,
    leaf: (field: FieldDescriptor, value: unknown, at: string) => unknown,
  ): Record<string, unknown> {
    const type = this.message(typeName);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(request)) {
      const field = type?.field.find((f) => f.name === key);
      const fieldPath = at ? `${at}.${key}` : key;
      if (!field || !type || this.isMap(type, field)) {
        out[key] = value;
        continue;
      }
      const one = (v: unknown, p: string) =>
        field.type === 'TYPE_MESSAGE' && !field.typeName.startsWith('google.protobuf.') && isPlainObject(v)
          ? this.convert(this.resolve(typeName, field.typeName), v, p, leaf)
          : leaf(field, v, p);
      out[key] = field.label === 'LABEL_REPEATED' && Array.isArray(value)
        ? value.map((v, i) => one(v, `${fieldPath}[${i}]`))
        : one(value, fieldPath);
    }
    return out;
  }
}

/** A google.protobuf.Value object (proto-loader's camelCase names) as the JSON value it holds. */
function valueToJson(value: unknown): unknown {
  if (!isPlainObject(value)) return null;
  if (typeof value.numberValue === 'number') return value.numberValue;
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.boolValue === 'boolean') return value.boolValue;
  if (isPlainObject(value.structValue)) return structToJson(value.structValue);
  if (isPlainObject(value.listValue)) return listToJson(value.listValue);
  return null; // nullValue, or no kind at all
}

function listToJson(list: unknown): unknown[] {
  return isPlainObject(list) && Array.isArray(list.values) ? list.values.map(valueToJson) : [];
}

function structToJson(struct: unknown): Record<string, unknown> {
  const fields = isPlainObject(struct) && isPlainObject(struct.fields) ? struct.fields : {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, valueToJson(v)]));
}

/** A google.protobuf.Timestamp as protobuf's JSON prints it: RFC 3339 in UTC, with 0, 3, 6 or 9 fractional digits. */
function timestampToJson(timestamp: unknown): string {
  const { seconds = 0, nanos = 0 } = isPlainObject(timestamp) ? timestamp : {};
  const n = Number(nanos);
  const digits = String(n).padStart(9, '0');
  const fraction = n === 0 ? '' : `.${n % 1e6 === 0 ? digits.slice(0, 3) : n % 1e3 === 0 ? digits.slice(0, 6) : digits}`;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}${fraction}Z`;
}

/** The well-known types whose proto3 JSON form is not their fields (proto-loader gives their fields). */
const kWellKnownToJson: Record<string, (value: unknown) => unknown> = {
  'google.protobuf.Value': valueToJson,
  'google.protobuf.ListValue': listToJson,
  'google.protobuf.Struct': structToJson,
  'google.protobuf.Timestamp': timestampToJson,
};

/** A JSON value as a google.protobuf.Value object (proto-loader's camelCase names). */
export function jsonToValue(value: unknown, at: string): Record<string, unknown> {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw invalidArgument(`field '${at}': ${value} is not a JSON number`);
      return { numberValue: value };
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'object': {
      if (Array.isArray(value)) return { listValue: { values: value.map((v, i) => jsonToValue(v, `${at}[${i}]`)) } };
      const json = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof json === 'function') return jsonToValue(json.call(value), at);
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined && typeof v !== 'function') fields[k] = jsonToValue(v, `${at}.${k}`);
      }
      return { structValue: { fields } };
    }
    default:
      throw invalidArgument(`field '${at}': ${typeof value} is not JSON`);
  }
}

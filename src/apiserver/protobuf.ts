/**
 * Decoding of Kubernetes' protobuf wire form (`application/vnd.kubernetes.protobuf`): the "k8s\0" envelope
 * (runtime.Unknown with typeMeta + raw) and the generated messages, into the JSON objects the rest of the
 * server handles. Zero scalars are dropped (Go marshals non-pointer fields even when empty, JSON omits them).
 * Only decoding: responses are always JSON.
 */
import { PROTO_MESSAGES } from './protobuf-messages';
import { badRequest, statusError } from './status';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw badRequest('protobuf: truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw badRequest('protobuf: varint too long');
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    if (n < 0 || this.pos + n > this.end) throw badRequest('protobuf: truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw badRequest(`protobuf: unsupported wire type ${wire}`);
  }
}

function toInt(v: bigint): number {
  // int32/int64 as two's complement 64-bit.
  return Number(BigInt.asIntN(64, v));
}

type Fields = Map<number, { wire: number; value: bigint | Buffer; r: Reader }[]>;

function readFields(buf: Buffer): Fields {
  const r = new Reader(buf);
  const out: Fields = new Map();
  while (r.pos < r.end) {
    const tag = Number(r.varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = r.varint();
    else if (wire === 2) value = r.bytes();
    else if (wire === 1) (value = r.buf.subarray(r.pos, r.pos + 8)), (r.pos += 8);
    else if (wire === 5) (value = r.buf.subarray(r.pos, r.pos + 4)), (r.pos += 4);
    else throw badRequest(`protobuf: unsupported wire type ${wire}`);
    if (r.pos > r.end) throw badRequest('protobuf: truncated message');
    const list = out.get(no) ?? [];
    list.push({ wire, value, r });
    out.set(no, list);
  }
  return out;
}

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const iso = new Date(seconds * 1000).toISOString();
  if (!micro) return iso.replace(/\.\d+Z$/, 'Z');
  return iso.replace(/\.\d+Z$/, `.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z`);
}

function decodeScalar(type: string, wire: number, v: bigint | Buffer, depth: number): unknown {
  switch (type) {
    case 'string':
      return (v as Buffer).toString('utf8');
    case 'bytes':
      return (v as Buffer).toString('base64');
    case 'int':
      return toInt(v as bigint);
    case 'bool':
      return (v as bigint) !== 0n;
    case 'num':
      return wire === 1 ? (v as Buffer).readDoubleLE(0) : (v as Buffer).readFloatLE(0);
    case 'time':
    case 'microtime': {
      const f = readFields(v as Buffer);
      const s = f.get(1)?.[0]?.value as bigint | undefined;
      const n = f.get(2)?.[0]?.value as bigint | undefined;
      if (!s && !n) return undefined; // zero time: JSON null, omitted
      return rfc3339(toInt(s ?? 0n), toInt(n ?? 0n), type === 'microtime');
    }
    case 'quantity': {
      const f = readFields(v as Buffer);
      const s = f.get(1)?.[0]?.value as Buffer | undefined;
      return s ? s.toString('utf8') : '0';
    }
    case 'intorstr': {
      const f = readFields(v as Buffer);
      const t = toInt((f.get(1)?.[0]?.value as bigint | undefined) ?? 0n);
      if (t === 1) return ((f.get(3)?.[0]?.value as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8');
      return toInt((f.get(2)?.[0]?.value as bigint | undefined) ?? 0n);
    }
    case 'duration': {
      const f = readFields(v as Buffer);
      const ns = toInt((f.get(1)?.[0]?.value as bigint | undefined) ?? 0n);
      return `${ns / 1e9}s`;
    }
    case 'raw': {
      const f = readFields(v as Buffer);
      const raw = f.get(1)?.[0]?.value as Buffer | undefined;
      if (!raw || raw.length === 0) return undefined;
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch {
        throw badRequest('protobuf: embedded raw object is not JSON');
      }
    }
    default:
      return decodeMessage(type, v as Buffer, depth + 1);
  }
}

/** Pointer fields whose explicit zero means something (Go marshals them only when set). */
const KEEP_ZERO = new Set([
  'replicas', 'parallelism', 'completions', 'backoffLimit', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit',
  'startingDeadlineSeconds', 'terminationGracePeriodSeconds', 'revisionHistoryLimit', 'activeDeadlineSeconds',
  'ttlSecondsAfterFinished', 'gracePeriodSeconds', 'suspend', 'automountServiceAccountToken', 'immutable',
]);

/** Go structs embedded with `json:",inline"`: a field of their own in protobuf, flattened into the parent in JSON. */
const INLINE = new Set(['volumeSource', 'handler', 'ephemeralContainerCommon', 'ingressRuleValue', 'localObjectReference', 'persistentVolumeSource']);

function isZero(v: unknown): boolean {
  return v === undefined || v === '' || v === 0 || v === false;
}

export function decodeMessage(name: string, buf: Buffer, depth = 0): Record<string, unknown> {
  if (depth > 100) throw badRequest('protobuf: message nested too deeply');
  const table = PROTO_MESSAGES[name];
  if (!table) throw badRequest(`protobuf: no decoder for ${name}`);
  const out: Record<string, unknown> = {};
  for (const [no, entries] of readFields(buf)) {
    const spec = table[String(no)];
    if (!spec) continue; // unknown field: ignored, as proto decoders do
    const colon = spec.indexOf(':');
    let fname = spec.slice(0, colon);
    const type = spec.slice(colon + 1);
    if (fname.startsWith('{}')) {
      fname = fname.slice(2);
      const m: Record<string, unknown> = (out[fname] as Record<string, unknown>) ?? {};
      for (const e of entries) {
        const f = readFields(e.value as Buffer);
        const k = ((f.get(1)?.[0]?.value as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8');
        const ve = f.get(2)?.[0];
        m[k] = ve ? decodeScalar(type, ve.wire, ve.value, depth) : type === 'string' || type === 'bytes' ? '' : undefined;
      }
      out[fname] = m;
    } else if (fname.startsWith('[]')) {
      fname = fname.slice(2);
      const arr: unknown[] = (out[fname] as unknown[]) ?? [];
      for (const e of entries) {
        if (e.wire === 2 && (type === 'int' || type === 'bool')) {
          const r = new Reader(e.value as Buffer);
          while (r.pos < r.end) arr.push(decodeScalar(type, 0, r.varint(), depth));
        } else arr.push(decodeScalar(type, e.wire, e.value, depth));
      }
      out[fname] = arr;
    } else {
      const e = entries[entries.length - 1];
      const v = decodeScalar(type, e.wire, e.value, depth);
      if (INLINE.has(fname) && v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, v);
      else if (!isZero(v) || (v !== undefined && v !== '' && KEEP_ZERO.has(fname))) out[fname] = v;
    }
  }
  return out;
}

const GROUP_PACKAGE: Record<string, string> = {
  '': 'core.v1',
  v1: 'core.v1',
  'apps/v1': 'apps.v1',
  'autoscaling/v1': 'autoscaling.v1',
  'batch/v1': 'batch.v1',
  'networking.k8s.io/v1': 'networking.v1',
  'policy/v1': 'policy.v1',
  'meta.k8s.io/v1': 'meta.v1',
};

export function isProtobuf(contentType: string): boolean {
  return contentType === 'application/vnd.kubernetes.protobuf';
}

/** Decodes a protobuf request body (envelope + message) into a JSON object with apiVersion and kind. */
export function decodeProtobufObject(buf: Buffer): Record<string, unknown> {
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) throw badRequest('protobuf: missing the k8s envelope');
  const env = readFields(buf.subarray(4));
  const tm = env.get(1)?.[0]?.value as Buffer | undefined;
  const raw = env.get(2)?.[0]?.value as Buffer | undefined;
  const enc = env.get(3)?.[0]?.value as Buffer | undefined;
  if (enc && enc.length) throw badRequest('protobuf: content encodings are not supported');
  let apiVersion = '';
  let kind = '';
  if (tm) {
    const f = readFields(tm);
    apiVersion = ((f.get(1)?.[0]?.value as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8');
    kind = ((f.get(2)?.[0]?.value as Buffer | undefined) ?? Buffer.alloc(0)).toString('utf8');
  }
  const pkg = kind === 'DeleteOptions' ? 'meta.v1' : GROUP_PACKAGE[apiVersion];
  const name = pkg ? `${pkg}.${kind}` : '';
  if (!name || !PROTO_MESSAGES[name])
    throw statusError(
      415,
      'UnsupportedMediaType',
      `the protobuf encoding of ${kind || 'this object'} (${apiVersion}) is not supported by this server; send application/json`,
    );
  const obj = decodeMessage(name, raw ?? Buffer.alloc(0));
  return { apiVersion, kind, ...obj };
}

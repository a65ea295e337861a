/** Reading and decoding request bodies: size limit (413), JSON/YAML decoding (400), nesting limit. */
import type { IncomingMessage } from 'node:http';
import YAML from 'yaml';
import { jsonDepthExceeds, objectDepthExceeds, MAX_JSON_DEPTH } from './objects';
import { badRequest, statusError } from './status';
import { decodeProtobufObject, isProtobuf } from './protobuf';

/** Upstream's request body limit (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number) {
  return statusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Decodes a JSON or YAML body into a value. YAML aliases are capped by the yaml library (no billion laughs). */
export function decodeBody(buf: Buffer, type: string): unknown {
  const text = buf.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  const isYaml = type.endsWith('yaml') || type.endsWith('yml');
  if (!isYaml && type !== '' && !type.endsWith('json') && type !== '*/*') {
    throw statusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  }
  if (jsonDepthExceeds(text)) throw badRequest(`the request body is nested too deeply (max depth ${MAX_JSON_DEPTH})`);
  let v: unknown;
  if (isYaml) {
    try {
      const docs = YAML.parseAllDocuments(text);
      if (docs.length !== 1) throw new Error(`expected one YAML document, found ${docs.length}`);
      if (docs[0].errors.length) throw docs[0].errors[0];
      v = docs[0].toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    if (objectDepthExceeds(v)) throw badRequest(`the request body is nested too deeply (max depth ${MAX_JSON_DEPTH})`);
  } else {
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw badRequest(`error decoding request body: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return v;
}

export function decodeObjectBody(buf: Buffer, type: string): Record<string, unknown> {
  // Typed clients (kubectl create ...) send protobuf; patches and everything else are JSON or YAML.
  if (isProtobuf(type)) return decodeProtobufObject(buf);
  const v = decodeBody(buf, type);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw badRequest(`the request body must be a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Record<string, unknown>;
}

/**
 * Wire helpers for the Docker Engine API edge: bodies, JSON replies, Docker-format errors, JSON message
 * streams (pull/load/build progress), and filters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SkiffError, httpStatusOf, invalid } from '../../common/errors';

/** The docker CLI prints the raw body unless Content-Type is exactly application/json. */
export const JSON_TYPE = 'application/json';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': data.length });
  res.end(data);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

/** Maps any error to Docker's `{"message": ...}` with the status that tells the CLI the error class. */
export function sendError(res: ServerResponse, err: unknown): void {
  const { status, message } = dockerError(err);
  if (res.headersSent) {
    // Mid-stream: the best we can do is a JSON message line (progress streams understand it) and close.
    res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
    return;
  }
  if (status === 304) return sendNoContent(res, 304);
  sendJson(res, status, { message });
}

export function dockerError(err: unknown): { status: number; message: string } {
  if (err instanceof SkiffError) return { status: httpStatusOf(err.code), message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, message };
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new SkiffError('TooLarge', `request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; an empty body is `fallback` (the CLI sends none for some POSTs). */
export async function readJson<T>(req: IncomingMessage, fallback?: T): Promise<T> {
  const body = await readBody(req);
  if (body.length === 0) {
    if (fallback !== undefined) return fallback;
    throw invalid('request body is empty');
  }
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (err) {
    throw invalid(`invalid JSON in request body: ${(err as Error).message}`);
  }
}

/**
 * Docker's filters query parameter: `{"label":{"a=b":true},"status":{"running":true}}`, or the legacy
 * form `{"label":["a=b"]}`. Returns name -> values.
 */
export function parseFilters(raw: string | null): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  if (!raw) return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filter '${raw}'`);
  }
  if (parsed === null || typeof parsed !== 'object') throw invalid(`invalid filter '${raw}'`);
  for (const [name, values] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(values)) filters.set(name, values.map(String));
    else if (values && typeof values === 'object')
      filters.set(
        name,
        Object.entries(values as Record<string, unknown>)
          .filter(([, on]) => on)
          .map(([v]) => v),
      );
  }
  return filters;
}

/** Docker's boolean query parameters: "1", "true", "True" are true. */
export function boolParam(query: URLSearchParams, name: string, dflt = false): boolean {
  const v = query.get(name);
  if (v === null || v === '') return dflt;
  return v === '1' || v.toLowerCase() === 'true';
}

/** A JSON message stream (pull, push, load, build): one JSON object per line, flushed as written. */
export class JsonMessageStream {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'Content-Type': JSON_TYPE });
  }
  write(message: Record<string, unknown>): void {
    this.res.write(JSON.stringify(message) + '\r\n');
  }
  error(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.write({ errorDetail: { message }, error: message });
  }
  end(): void {
    this.res.end();
  }
}

/**
 * Kubernetes `Status` objects: the wire form of every error the API server returns, translated from the
 * project's SkiffError catalogue at this edge only.
 */
import { SkiffError, httpStatusOf, type FieldCause } from '../common/errors';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: FieldCause[];
  retryAfterSeconds?: number;
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** Thrown by handlers to answer with an exact Status (code + reason), bypassing the SkiffError mapping. */
export class StatusError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message ?? status.reason ?? 'error');
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): KubeStatus {
  const s: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details && Object.keys(details).length > 0) s.details = details;
  return s;
}

export function statusError(code: number, reason: string, message: string, details?: StatusDetails): StatusError {
  return new StatusError(failure(code, reason, message, details));
}

export function success(details?: StatusDetails): KubeStatus {
  const s: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) s.details = details;
  return s;
}

/** `deployments.apps` / `pods` — the qualified resource upstream puts in messages. */
export function qualified(group: string, plural: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const notFoundStatus = (group: string, plural: string, name: string) =>
  statusError(404, 'NotFound', `${qualified(group, plural)} "${name}" not found`, { name, group, kind: plural });

export const alreadyExistsStatus = (group: string, plural: string, name: string) =>
  statusError(409, 'AlreadyExists', `${qualified(group, plural)} "${name}" already exists`, { name, group, kind: plural });

export const conflictStatus = (group: string, plural: string, name: string, why?: string) =>
  statusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": ${why ?? 'the object has been modified; please apply your changes to the latest version and try again'}`,
    { name, group, kind: plural },
  );

export const badRequest = (message: string) => statusError(400, 'BadRequest', message);

/** 422 Invalid: `Deployment.apps "x" is invalid: [spec.replicas: Invalid value: -1: must be >= 0, ...]`. */
export function invalidStatus(kind: string, group: string, name: string, causes: FieldCause[]): StatusError {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const qk = group ? `${kind}.${group}` : kind;
  return statusError(422, 'Invalid', `${qk} "${name}" is invalid: ${list}`, { name, group, kind, causes });
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** Any thrown value → Status. SkiffErrors keep their message; unknown errors become 500 InternalError. */
export function toStatus(err: unknown): KubeStatus {
  if (err instanceof StatusError) return err.status;
  if (err instanceof SkiffError) {
    const code = err.code === 'InvalidArgument' && err.details?.causes ? 422 : httpStatusOf(err.code);
    const reason = err.code === 'AlreadyExists' ? 'AlreadyExists' : (REASON_BY_CODE[code] ?? 'Unknown');
    const d = err.details ?? {};
    const details: StatusDetails = {};
    if (typeof d.name === 'string') details.name = d.name;
    if (typeof d.group === 'string') details.group = d.group;
    if (typeof d.kind === 'string') details.kind = d.kind;
    if (d.causes) details.causes = d.causes;
    return failure(code, reason, err.message, details);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return failure(500, 'InternalError', `Internal error occurred: ${msg}`);
}

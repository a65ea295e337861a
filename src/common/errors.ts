/**
 * The error catalogue shared by every layer.
 *
 * Lower layers (store, engine, network) throw these with a message that says what failed and the value
 * seen; only the API edges translate them to wire formats (Docker's {"message"} with an HTTP status,
 * Kubernetes' Status object). Nothing below an edge knows about HTTP.
 */

export type ErrorCode =
  | 'NotFound' // the named thing does not exist
  | 'AlreadyExists' // create of something that exists
  | 'Conflict' // stale revision, or a state that forbids the operation (container running, image in use)
  | 'InvalidArgument' // the caller's input is malformed or out of range
  | 'NotModified' // the operation had nothing to do (Docker answers 304 for some of these)
  | 'Unauthorized'
  | 'Forbidden'
  | 'Gone' // e.g. a watch from a compacted revision
  | 'TooLarge' // request body over the limit
  | 'Unavailable' // a dependency (runc, etcd) is not reachable right now; retry may succeed
  | 'Internal';

export class SkiffError extends Error {
  readonly code: ErrorCode;
  /** Structured details an edge may expose (field causes for Kubernetes' 422, the kind/name of a missing object). */
  readonly details?: ErrorDetails;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = `${code}Error`;
    this.code = code;
    this.details = options?.details;
  }
}

export interface FieldCause {
  /** e.g. "FieldValueInvalid", "FieldValueRequired", "FieldValueNotSupported", "FieldValueDuplicate". */
  reason: string;
  message: string;
  /** JSON-path-like field, e.g. "spec.replicas" or "spec.template.spec.containers[0].image". */
  field: string;
}

export interface ErrorDetails {
  kind?: string;
  group?: string;
  name?: string;
  causes?: FieldCause[];
  /** For Gone on watches: the oldest revision still available. */
  compactRevision?: number;
  /** For Conflict on compare-and-swap: the revision currently stored. */
  currentRevision?: number;
  [key: string]: unknown;
}

export const notFound = (message: string, details?: ErrorDetails) => new SkiffError('NotFound', message, { details });
export const alreadyExists = (message: string, details?: ErrorDetails) =>
  new SkiffError('AlreadyExists', message, { details });
export const conflict = (message: string, details?: ErrorDetails) => new SkiffError('Conflict', message, { details });
export const invalid = (message: string, details?: ErrorDetails) =>
  new SkiffError('InvalidArgument', message, { details });
export const notModified = (message: string) => new SkiffError('NotModified', message);
export const gone = (message: string, details?: ErrorDetails) => new SkiffError('Gone', message, { details });
export const unavailable = (message: string, cause?: unknown) => new SkiffError('Unavailable', message, { cause });
export const internal = (message: string, cause?: unknown) => new SkiffError('Internal', message, { cause });

export function isSkiffError(err: unknown, code?: ErrorCode): err is SkiffError {
  return err instanceof SkiffError && (code === undefined || err.code === code);
}

/** HTTP status for an error code; both API edges start from this table. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'NotFound':
      return 404;
    case 'AlreadyExists':
    case 'Conflict':
      return 409;
    case 'InvalidArgument':
      return 400;
    case 'NotModified':
      return 304;
    case 'Unauthorized':
      return 401;
    case 'Forbidden':
      return 403;
    case 'Gone':
      return 410;
    case 'TooLarge':
      return 413;
    case 'Unavailable':
      return 503;
    case 'Internal':
      return 500;
  }
}

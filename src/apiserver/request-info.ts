/**
 * Parses a Kubernetes API path into what the request addresses (upstream's RequestInfoFactory, reduced).
 * Pure: no I/O, no knowledge of which resources exist.
 */

export interface RequestInfo {
  /** True for /api/... and /apis/... paths that name a resource; false for discovery and other paths. */
  isResourceRequest: boolean;
  /** '' for the core group. */
  group: string;
  version: string;
  namespace: string;
  resource: string;
  name: string;
  subresource: string;
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | '';
  /** Path segments after /api or /apis (for discovery routing). */
  parts: string[];
  /** 'api' or 'apis' or ''. */
  prefix: string;
}

/** Subresources of a namespace that are not resources of their own (/api/v1/namespaces/x/status). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parseRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {
    isResourceRequest: false,
    group: '',
    version: '',
    namespace: '',
    resource: '',
    name: '',
    subresource: '',
    verb: '',
    parts: [],
    prefix: '',
  };
  const segs = pathname.split('/').filter((s) => s !== '').map(safeDecode);
  if (segs[0] !== 'api' && segs[0] !== 'apis') return info;
  info.prefix = segs[0];
  let rest = segs.slice(1);
  info.parts = rest;
  if (info.prefix === 'api') {
    if (rest.length < 1) return info;
    info.version = rest[0];
    rest = rest.slice(1);
  } else {
    if (rest.length < 2) return info;
    info.group = rest[0];
    info.version = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0) return info;
  info.isResourceRequest = true;
  let cur = rest;
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      info.namespace = rest[1];
      if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) cur = rest.slice(2);
    }
  }
  info.resource = cur[0] ?? '';
  info.name = cur[1] ?? '';
  info.subresource = cur.length > 2 ? cur.slice(2).join('/') : '';
  // The namespace object itself: /api/v1/namespaces/x is resource "namespaces", name "x", no namespace.
  if (info.resource === 'namespaces' && cur === rest) info.namespace = '';

  switch (method) {
    case 'GET':
    case 'HEAD': {
      const watch = query.get('watch');
      if (watch === 'true' || watch === '1') info.verb = 'watch';
      else info.verb = info.name ? 'get' : 'list';
      break;
    }
    case 'POST':
      info.verb = 'create';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = info.name ? 'delete' : 'deletecollection';
      break;
  }
  return info;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The hook through which the node agent (a later issue) serves the streaming pod subresources. The API
 * server resolves the pod and checks it exists and is bound to a node; the connector does the rest.
 *
 * - logs: GET /api/v1/namespaces/ns/pods/p/log?container=&follow=&tailLines=&timestamps=&previous=&sinceSeconds=
 *   → write `text/plain` to res, flushing per line when following; end res when done. Throw a StatusError
 *   (./status) before writing anything to answer with an error (e.g. 400 "container c is not valid").
 * - stream: exec/attach/portforward arrive as HTTP upgrades (WebSocket `v5.channel.k8s.io`, or SPDY/3.1 from
 *   older clients). The connector owns the socket from then on (answer 101 and speak the protocol, or write
 *   an HTTP error response and destroy it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KubeObject } from './resource';

export type PodStreamKind = 'exec' | 'attach' | 'portforward';

export interface NodeConnector {
  podLogs(pod: KubeObject, query: URLSearchParams, res: ServerResponse, signal: AbortSignal): Promise<void>;
  podStream(kind: PodStreamKind, pod: KubeObject, query: URLSearchParams, req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Optional (added by the node-agent engineer): GET/LIST of metrics.k8s.io/v1beta1 `pods` or `nodes`
   * (what metrics-server serves to `kubectl top` and the HPA). Returns the object or list to send as JSON;
   * throws a StatusError for 404s. Discovery lists the group when its ResourceInfos are in `resources`.
   */
  metrics?(resource: string, namespace: string, name: string, query: URLSearchParams): Promise<object>;
}

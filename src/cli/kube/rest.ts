/** A minimal REST transport for the kubectl-like verbs: kubeconfig credentials, custom Accept, JSON answers. */
import http from 'node:http';
import https from 'node:https';
import type { ClientConfig } from '../../client/kubeconfig';

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class Rest {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;

  constructor(readonly config: ClientConfig) {
    this.url = new URL(config.server);
    const tls = this.url.protocol === 'https:';
    this.mod = tls ? https : http;
    this.agent = tls
      ? new https.Agent({ keepAlive: true, ca: config.caData, cert: config.certData, key: config.keyData, rejectUnauthorized: !config.insecureSkipTLSVerify })
      : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  request(method: string, path: string, opts: { body?: unknown; contentType?: string; accept?: string } = {}): Promise<Reply> {
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    const headers: http.OutgoingHttpHeaders = { Accept: opts.accept ?? 'application/json', 'User-Agent': 'skiff/0.1' };
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token}`;
    if (payload) (headers['Content-Type'] = opts.contentType ?? 'application/json'), (headers['Content-Length'] = payload.length);
    return new Promise((resolve, reject) => {
      const req = this.mod.request(
        { hostname: this.url.hostname, port: this.url.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              /* keep text */
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('error', (e) => reject(new Error(`Unable to connect to the server: ${e.message}`)));
      if (payload) req.write(payload);
      req.end();
    });
  }
}

/** kubectl's rendering of a failed request: `Error from server (NotFound): ...`. */
export function serverError(r: Reply): string {
  const b = r.body as { kind?: string; reason?: string; message?: string } | undefined;
  if (b && b.kind === 'Status') return `Error from server (${b.reason || 'Unknown'}): ${b.message ?? ''}`;
  return `Error from server: the server responded with status ${r.status}`;
}

/**
 * TEST ONLY: a Docker token server (the `realm` of a Bearer challenge) on 127.0.0.1: issues RS256 JWTs the
 * registry verifies through the x5c certificate in their header. Pull is granted to anyone; push only to the
 * given user (basic credentials on the token request). Every request is recorded.
 */
import http from 'node:http';
import crypto from 'node:crypto';
import forge from 'node-forge';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPem: string;
  requests: Array<{ user?: string; scope: string; granted: string[] }>;
  close(): Promise<void>;
}

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenServer(user: { name: string; password: string }): Promise<TokenServer> {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const name = [{ name: 'commonName', value: 'skiff test token issuer' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', digitalSignature: true, keyCertSign: true }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const certDer = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const keyPem = forge.pki.privateKeyToPem(keys.privateKey);
  const service = 'skiff-test-registry';
  const issuer = 'skiff-test-issuer';
  const requests: TokenServer['requests'] = [];

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    let who: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [n, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (n !== user.name || p !== user.password) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      who = n;
    }
    const access: Array<{ type: string; name: string; actions: string[] }> = [];
    const granted: string[] = [];
    for (const scope of u.searchParams.getAll('scope').flatMap((s) => s.split(' '))) {
      const [type, repo, actions] = scope.split(':');
      if (!type || !repo || !actions) continue;
      const ok = actions.split(',').filter((a) => a === 'pull' || (who === user.name && (a === 'push' || a === '*')));
      access.push({ type, name: repo, actions: ok });
      granted.push(`${repo}:${ok.join(',')}`);
    }
    requests.push({ user: who, scope: u.searchParams.getAll('scope').join(' '), granted });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: who ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomBytes(8).toString('hex'), access };
    const signing = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    const sig = crypto.createSign('RSA-SHA256').update(signing).sign(keyPem);
    const token = `${signing}.${b64u(sig)}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPem,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

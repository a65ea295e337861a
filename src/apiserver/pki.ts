/**
 * First-start credentials: a self-signed CA, a serving certificate for the API (SANs 127.0.0.1, ::1,
 * localhost, the host name), and an admin bearer token. Kept under DATA_DIR/pki and reused afterwards.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';

export interface Credentials {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminToken: string;
}

function rsaPair(): { pub: forge.pki.PublicKey; priv: forge.pki.PrivateKey; privPem: string } {
  // Node's native RSA generation is far faster than forge's pure-JS one.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { pub: forge.pki.publicKeyFromPem(publicKey), priv: forge.pki.privateKeyFromPem(privateKey), privPem: privateKey };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // positive
  return b.toString('hex');
}

export function generateCredentials(hostNames: string[] = []): Credentials {
  const ca = rsaPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.pub;
  caCert.serialNumber = serial();
  caCert.validity.notBefore = new Date(Date.now() - 60_000);
  caCert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600_000);
  const caAttrs = [{ name: 'commonName', value: `skiff-ca-${Math.floor(Date.now() / 1000)}` }];
  caCert.setSubject(caAttrs);
  caCert.setIssuer(caAttrs);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.priv as forge.pki.rsa.PrivateKey, forge.md.sha256.create());

  const srv = rsaPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = srv.pub;
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
  cert.setIssuer(caAttrs);
  const dns = [...new Set(['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', os.hostname(), ...hostNames])];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dns.filter((d) => d && !/^[\d.]+$/.test(d)).map((value) => ({ type: 2, value })),
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
      ],
    },
  ]);
  cert.sign(ca.priv as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return {
    caCert: forge.pki.certificateToPem(caCert),
    serverCert: forge.pki.certificateToPem(cert),
    serverKey: srv.privPem,
    adminToken: randomBytes(24).toString('hex'),
  };
}

/** Loads DATA_DIR/pki, generating it on first start. Files are written atomically, keys 0600. */
export function loadOrCreateCredentials(dataDir: string): Credentials {
  const dir = path.join(dataDir, 'pki');
  const files = { caCert: 'ca.crt', serverCert: 'server.crt', serverKey: 'server.key', adminToken: 'admin.token' } as const;
  const have = Object.values(files).every((f) => fs.existsSync(path.join(dir, f)));
  if (have) {
    const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
    return { caCert: read(files.caCert), serverCert: read(files.serverCert), serverKey: read(files.serverKey), adminToken: read(files.adminToken).trim() };
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const c = generateCredentials();
  for (const [k, f] of Object.entries(files)) {
    const p = path.join(dir, f);
    fs.writeFileSync(p + '.tmp', c[k as keyof Credentials], { mode: k === 'caCert' || k === 'serverCert' ? 0o644 : 0o600 });
    fs.renameSync(p + '.tmp', p);
  }
  return c;
}

/** An admin kubeconfig: CA data + bearer token. */
export function kubeconfigYaml(server: string, caCert: string | undefined, token: string): string {
  const cluster = caCert
    ? `    certificate-authority-data: ${Buffer.from(caCert).toString('base64')}\n    server: ${server}\n`
    : `    server: ${server}\n`;
  return `apiVersion: v1
kind: Config
clusters:
- cluster:
${cluster}  name: skiff
contexts:
- context:
    cluster: skiff
    user: skiff-admin
  name: skiff
current-context: skiff
preferences: {}
users:
- name: skiff-admin
  user:
    token: ${token}
`;
}

// exec start over a raw socket, the way a client on a busy machine may send it: the JSON body in its own packet
// after the headers, then stdin and a half-close. The engine must still feed stdin (regression: an explicitly
// paused socket never flowed and `docker exec -i` hung under load).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { startEngine, type EngineHandle } from '../../../../test/engine';

let engine: EngineHandle;
before(async () => {
  engine = await startEngine({ busybox: true });
});
after(async () => {
  await engine?.docker('rm', '-f', 'exr').catch(() => undefined);
  await engine?.stop();
});

function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: engine.socket, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Splits a stdcopy stream into stdout text. */
function stdoutOf(raw: Buffer): string {
  let out = '';
  let i = raw.indexOf('\r\n\r\n') + 4;
  while (i + 8 <= raw.length) {
    const len = raw.readUInt32BE(i + 4);
    if (raw[i] === 1) out += raw.subarray(i + 8, i + 8 + len).toString();
    i += 8 + len;
  }
  return out;
}

test('exec start: body in a separate packet, then stdin and half-close, reaches the process', { timeout: 60_000 }, async () => {
  const run = await engine.docker('run', '-d', '--name', 'exr', 'busybox', 'sleep', '1000');
  assert.equal(run.code, 0, run.stderr);
  const created = await api('POST', '/v1.50/containers/exr/exec', { AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['cat'] });
  assert.equal(created.status, 201);
  const body = JSON.stringify({ Detach: false, Tty: false });
  const sock = net.connect(engine.socket);
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  const chunks: Buffer[] = [];
  sock.on('data', (d) => chunks.push(d));
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  sock.write(
    `POST /v1.50/exec/${created.json.Id}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n` +
      `Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  await new Promise((r) => setTimeout(r, 200)); // the body arrives on its own
  sock.write(body);
  await new Promise((r) => setTimeout(r, 200));
  sock.write('piped\n');
  sock.end(); // half-close: EOF for cat
  const timer = setTimeout(() => sock.destroy(), 30_000);
  await closed;
  clearTimeout(timer);
  const raw = Buffer.concat(chunks);
  assert.match(raw.toString('latin1'), /^HTTP\/1\.1 101 UPGRADED/);
  assert.equal(stdoutOf(raw), 'piped\n');
  const inspect = await api('GET', `/v1.50/exec/${created.json.Id}/json`);
  assert.equal(inspect.json.ExitCode, 0);
});

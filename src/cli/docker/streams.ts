/**
 * Moving bytes between the terminal and a hijacked attach/exec connection, as docker's hijackedIOStreamer
 * does: output demultiplexed (stdcopy) unless the container has a TTY, stdin copied in and half-closed at
 * EOF, raw terminal mode while a TTY session runs, resize on SIGWINCH, and back-pressure on stdout.
 */
import { spawnSync } from 'node:child_process';
import type { Duplex, Readable, Writable } from 'node:stream';
import { StdcopyDemuxer } from './stdcopy';
import type { EngineClient } from './client';

export interface PumpOptions {
  socket: Duplex;
  head: Buffer;
  tty: boolean;
  /** Copy this into the connection (null: don't read stdin). */
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  /**
   * Our stdout/stderr went away (EPIPE: `skiff run ... | head -1`). Output is discarded from then on; the
   * caller decides what the container gets (docker's signal proxy hands it the SIGPIPE).
   */
  onBrokenPipe?: () => void;
}

/** Resolves when the daemon closes the output side (the process ended), after output is written. */
export function pumpHijacked(o: PumpOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const { socket } = o;
    const demux = o.tty ? null : new StdcopyDemuxer();
    let systemError = '';
    let done = false;

    let broken = false;
    const waiting = new Set<Writable>();
    const onOutErr = (e: NodeJS.ErrnoException) => {
      if (broken) return;
      broken = true;
      if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') o.onBrokenPipe?.();
      else finish(e);
    };
    o.stdout.on('error', onOutErr);
    o.stderr.on('error', onOutErr);
    const write = (w: Writable, data: Buffer) => {
      if (broken || w.destroyed) return;
      if (data.length && !w.write(data) && !waiting.has(w)) {
        // One chunk can hold many frames: wait for a single drain per stream, resume when all drained.
        waiting.add(w);
        socket.pause();
        w.once('drain', () => {
          waiting.delete(w);
          if (waiting.size === 0) socket.resume();
        });
      }
    };
    const onData = (chunk: Buffer) => {
      if (!demux) return write(o.stdout, chunk);
      for (const f of demux.push(chunk)) {
        if (f.stream === 2) write(o.stderr, f.payload);
        else if (f.stream === 3) systemError += f.payload.toString();
        else write(o.stdout, f.payload);
      }
    };
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      if (o.stdin) {
        o.stdin.removeListener('data', onStdin);
        o.stdin.removeListener('end', onStdinEnd);
        o.stdin.pause();
      }
      // Let the stdout writes land before the caller exits.
      const flush = () => {
        o.stdout.removeListener('error', onOutErr);
        o.stderr.removeListener('error', onOutErr);
        if (err) reject(err);
        else if (systemError) reject(new Error(systemError.trim()));
        else resolve();
      };
      if (!broken && o.stdout.writableNeedDrain) o.stdout.once('drain', flush);
      else flush();
    };
    const onStdin = (d: Buffer) => {
      if (!socket.destroyed) socket.write(d);
    };
    // stdin EOF: half-close so the container sees EOF while we keep reading its output.
    const onStdinEnd = () => {
      if (!socket.destroyed) socket.end();
    };

    if (o.head.length) onData(o.head);
    socket.on('data', onData);
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? finish() : finish(e)));
    if (o.stdin) {
      o.stdin.on('data', onStdin);
      o.stdin.on('end', onStdinEnd);
      o.stdin.resume();
    }
  });
}

/** Puts the terminal in raw mode while `fn` runs (only when stdin is a TTY). */
export async function withRawTerminal<T>(enabled: boolean, fn: () => Promise<T>): Promise<T> {
  const stdin = process.stdin as NodeJS.ReadStream;
  const raw = enabled && stdin.isTTY;
  if (raw) {
    stdin.setRawMode(true);
    // libuv's raw mode keeps output post-processing (ONLCR), so the container's "\r\n" would reach the
    // screen as "\r\r\n"; docker's term.MakeRaw clears OPOST. setRawMode(false) restores libuv's saved
    // termios, OPOST included.
    spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  }
  try {
    return await fn();
  } finally {
    if (raw) stdin.setRawMode(false);
  }
}

/** Sends the terminal size now and on every SIGWINCH; returns the stop function. */
export function monitorTtySize(client: EngineClient, resizePath: string): () => void {
  const out = process.stdout as NodeJS.WriteStream;
  if (!out.isTTY) return () => undefined;
  const send = () => {
    const h = out.rows;
    const w = out.columns;
    if (!h || !w) return;
    client.request('POST', resizePath, { query: { h, w } }).then((r) => r.resume(), () => undefined);
  };
  send();
  process.on('SIGWINCH', send);
  return () => process.removeListener('SIGWINCH', send);
}

/** Forwards terminal signals to the container (docker's --sig-proxy) until stopped. */
export function proxySignals(client: EngineClient, id: string): () => void {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = sigs.map((sig) => {
    const h = () => {
      client.request('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal: sig.slice(3) } }).then((r) => r.resume(), () => undefined);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => handlers.forEach(([s, h]) => process.removeListener(s, h));
}

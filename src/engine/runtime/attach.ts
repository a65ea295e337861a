/**
 * Input to a container (or exec) through conmon's attach socket.
 *
 * conmon's attach socket is AF_UNIX SOCK_SEQPACKET, which Node cannot open. The smallest reliable bridge is
 * a few lines of Perl (perl-base is essential on Debian; only the core Socket module is used), run per
 * attach session, never per container: our stdin -> the socket (conmon writes it to the container's stdin
 * or terminal); whatever conmon sends back is read and dropped, because output reaches clients through the
 * log file (which conmon writes before anything else, so nothing is lost before an attach connects).
 * Without a TTY, end of input shuts the socket's write side and conmon closes the container's stdin.
 *
 * Terminal resizes go to the ctl fifo next to the socket: "1 <height> <width>\n".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const BRIDGE = String.raw`
use strict; use Socket;
my ($path, $tty) = @ARGV;
socket(my $s, AF_UNIX, SOCK_SEQPACKET, 0) or die "socket: $!\n";
my $tries = 0;
until (connect($s, pack_sockaddr_un($path))) { die "connect $path: $!\n" if ++$tries > 200; select(undef, undef, undef, 0.01); }
syswrite(STDERR, "ok\n");
my $in = 1;
while (1) {
  my $rin = ''; vec($rin, fileno($s), 1) = 1; vec($rin, fileno(STDIN), 1) = 1 if $in;
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0;
  if ($in && vec($rout, fileno(STDIN), 1)) {
    my $r = sysread(STDIN, my $buf, 8192);
    if (!$r) { $in = 0; if ($tty ne '1') { shutdown($s, 1); } else { last; } }
    else { while (length $buf) { my $w = send($s, substr($buf, 0, 8192, ''), 0); last unless defined $w; } }
  }
  if (vec($rout, fileno($s), 1)) { my $r = sysread($s, my $buf, 8193); last if !$r; }
}
`;

export interface AttachInput {
  write(data: Buffer): void;
  /** End of input (closes the container's stdin unless it has a TTY). */
  end(): void;
  /** Resolves when the bridge is connected; rejects if it could not connect. */
  ready: Promise<void>;
  close(): void;
}

export function attachInput(socketPath: string, tty: boolean): AttachInput {
  const child: ChildProcess = spawn('perl', ['-e', BRIDGE, socketPath, tty ? '1' : '0'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  child.stdin!.on('error', () => undefined);
  const ready = new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.startsWith('ok\n')) resolve();
    });
    child.on('exit', () => reject(new Error(err.trim() || 'attach bridge exited')));
    child.on('error', reject);
  });
  ready.catch(() => undefined);
  return {
    write: (data) => void child.stdin!.write(data),
    end: () => void child.stdin!.end(),
    ready,
    close: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** Asks conmon to resize the terminal (no-op when the ctl fifo is gone, e.g. the container exited). */
export function resizeTerminal(dir: string, height: number, width: number): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(dir, 'ctl'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.writeSync(fd, `1 ${Math.max(0, height | 0)} ${Math.max(0, width | 0)}\n`);
  } catch {
    // ENXIO/ENOENT: nobody listens any more.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Asks conmon to reopen its log file (after the engine rotated it). */
export function reopenLog(dir: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(dir, 'ctl'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.writeSync(fd, `2 0 0\n`);
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The small part of the DNS wire format (RFC 1035) the embedded server needs: read a query, write an answer. */

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const TYPE_PTR = 12;
export const CLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;

export interface Question {
  name: string;
  type: number;
  klass: number;
}

export interface Query {
  id: number;
  flags: number;
  questions: Question[];
}

export function parseQuery(buf: Buffer): Query {
  if (buf.length < 12) throw new Error('short DNS message');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  let off = 12;
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) {
    const labels: string[] = [];
    for (;;) {
      if (off >= buf.length) throw new Error('truncated name');
      const len = buf[off++];
      if (len === 0) break;
      if (len & 0xc0) throw new Error('compressed name in question');
      if (off + len > buf.length) throw new Error('truncated label');
      labels.push(buf.toString('latin1', off, off + len));
      off += len;
    }
    if (off + 4 > buf.length) throw new Error('truncated question');
    questions.push({ name: labels.join('.'), type: buf.readUInt16BE(off), klass: buf.readUInt16BE(off + 2) });
    off += 4;
  }
  return { id, flags, questions };
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  const bufs: Buffer[] = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    if (b.length > 63) throw new Error(`label too long in ${name}`);
    bufs.push(Buffer.from([b.length]), b);
  }
  bufs.push(Buffer.from([0]));
  return Buffer.concat(bufs);
}

export interface AnswerA {
  address: string;
  ttl: number;
}

/**
 * A response to q's first question: authoritative, recursion available, the given rcode and A records.
 * Answers point back to the question name (compression pointer to offset 12).
 */
export function buildResponse(q: Query, rcode: number, answers: AnswerA[]): Buffer {
  const question = q.questions[0];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  const rd = q.flags & 0x0100;
  header.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | (rcode & 0xf), 2);
  header.writeUInt16BE(question ? 1 : 0, 4);
  header.writeUInt16BE(answers.length, 6);
  const parts: Buffer[] = [header];
  if (question) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(question.type, 0);
    tail.writeUInt16BE(question.klass, 2);
    parts.push(encodeName(question.name), tail);
  }
  for (const a of answers) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(a.ttl, 6);
    rr.writeUInt16BE(4, 10);
    a.address.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    parts.push(rr);
  }
  return Buffer.concat(parts);
}

/** A query for name (tests and health checks). */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** A answers of a response (tests). */
export function parseAnswersA(buf: Buffer): { rcode: number; addresses: string[] } {
  const rcode = buf.readUInt16BE(2) & 0xf;
  const an = buf.readUInt16BE(6);
  const q = parseQuery(buf);
  let off = 12;
  for (const _ of q.questions) {
    while (buf[off] !== 0) off += buf[off] + 1;
    off += 5;
  }
  const addresses: string[] = [];
  for (let i = 0; i < an; i++) {
    if ((buf[off] & 0xc0) === 0xc0) off += 2;
    else {
      while (buf[off] !== 0) off += buf[off] + 1;
      off += 1;
    }
    const type = buf.readUInt16BE(off);
    const rdlen = buf.readUInt16BE(off + 8);
    if (type === TYPE_A && rdlen === 4) addresses.push([...buf.subarray(off + 10, off + 14)].join('.'));
    off += 10 + rdlen;
  }
  return { rcode, addresses };
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildQuery, buildResponse, parseAnswersA, parseQuery, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA } from './packet';

describe('DNS packets', () => {
  it('round-trips a query and an answer', () => {
    const q = parseQuery(buildQuery(0x1234, 'web.example'));
    assert.equal(q.id, 0x1234);
    assert.deepEqual(q.questions, [{ name: 'web.example', type: TYPE_A, klass: 1 }]);
    const resp = buildResponse(q, 0, [{ address: '10.0.0.2', ttl: 60 }, { address: '10.0.0.3', ttl: 60 }]);
    assert.equal(resp.readUInt16BE(0), 0x1234);
    assert.ok(resp.readUInt16BE(2) & 0x8000, 'QR set');
    assert.ok(resp.readUInt16BE(2) & 0x0100, 'RD copied');
    assert.deepEqual(parseAnswersA(resp), { rcode: 0, addresses: ['10.0.0.2', '10.0.0.3'] });
  });

  it('answers NXDOMAIN and AAAA without records', () => {
    const q = parseQuery(buildQuery(7, 'nothing', TYPE_AAAA));
    assert.deepEqual(parseAnswersA(buildResponse(q, RCODE_NXDOMAIN, [])), { rcode: RCODE_NXDOMAIN, addresses: [] });
  });

  it('rejects malformed input', () => {
    assert.throws(() => parseQuery(Buffer.alloc(5)));
    const bad = buildQuery(1, 'a.b');
    assert.throws(() => parseQuery(bad.subarray(0, bad.length - 3)));
  });
});

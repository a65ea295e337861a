import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StdcopyDemuxer, encodeFrame } from './stdcopy';

test('demuxes frames split and packed arbitrarily', () => {
  const wire = Buffer.concat([encodeFrame(1, 'hello\n'), encodeFrame(2, 'oops\n'), encodeFrame(1, ''), encodeFrame(3, 'boom')]);
  for (let step = 1; step <= wire.length; step++) {
    const d = new StdcopyDemuxer();
    const got: string[] = [];
    for (let i = 0; i < wire.length; i += step) for (const f of d.push(wire.subarray(i, i + step))) got.push(`${f.stream}:${f.payload}`);
    assert.deepEqual(got, ['1:hello\n', '2:oops\n', '1:', '3:boom'], `step ${step}`);
    assert.equal(d.pending, 0);
  }
});

test('rejects a bad stream byte and reports a truncated frame', () => {
  assert.throws(() => new StdcopyDemuxer().push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 65])), /Unrecognized input header: 9/);
  const d = new StdcopyDemuxer();
  d.push(encodeFrame(1, 'abcdef').subarray(0, 10));
  assert.equal(d.pending, 10);
});

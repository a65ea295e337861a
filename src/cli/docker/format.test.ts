import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ellipsis, formatList, goQuote, indentJson, labelFields, shortId, tabwrite } from './format';

test('tabwriter like docker (minwidth 10, padding 3, last cell free)', () => {
  assert.equal(tabwrite('CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox:latest\tweb\n'), 'CONTAINER ID   IMAGE            NAMES\nabc            busybox:latest   web\n');
  assert.equal(tabwrite('A\tB\n'), 'A         B\n');
});

test('formatList: table, table TEMPLATE, json, raw', () => {
  const rows = [{ ID: 'abc', Name: 'web' }, { ID: 'def', Name: 'db' }];
  const spec = { defaultTable: 'table {{.ID}}\t{{.Name}}', headers: { ID: 'ID', Name: 'NAME' }, jsonKeys: ['ID', 'Name'], rows };
  assert.equal(formatList(undefined, spec), 'ID        NAME\nabc       web\ndef       db\n');
  assert.equal(formatList('table {{.Name}}', spec), 'NAME\nweb\ndb\n');
  assert.equal(formatList('{{.ID}}', spec), 'abc\ndef\n');
  assert.equal(formatList('json', spec), '{"ID":"abc","Name":"web"}\n{"ID":"def","Name":"db"}\n');
  assert.equal(formatList('{{.ID}}\\t{{.Name}}', spec), 'abc       web\ndef       db\n');
});

test('small helpers', () => {
  assert.equal(ellipsis('sh -c while true; do sleep 1; done', 20), 'sh -c while true; d…');
  assert.equal(goQuote(ellipsis('echo "hi"', 20)), '"echo \\"hi\\""');
  assert.equal(shortId('sha256:0123456789abcdef'), '0123456789ab');
  assert.equal(indentJson('[{"a":1,"b":[],"c":{},"d":[1,2],"e":"x,y:{}","n":9223372036854775807}]'),
    '[\n    {\n        "a": 1,\n        "b": [],\n        "c": {},\n        "d": [\n            1,\n            2\n        ],\n        "e": "x,y:{}",\n        "n": 9223372036854775807\n    }\n]');
});

test('list rows share .Labels (keys sorted) and .Label "key"', () => {
  const f = labelFields({ z: '1', a: '2' });
  assert.equal(f.Labels, 'a=2,z=1');
  assert.equal(f.Label('z'), '1');
  assert.equal(f.Label('missing'), '');
  assert.equal(labelFields(null).Labels, '');
});

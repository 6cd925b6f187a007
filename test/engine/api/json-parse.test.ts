import t from 'tap';
import { expectedBoolean, parseJson } from '../../../engine/api/json-parse.js';

t.test('the common details of docs/api.md, exactly', async (t) => {
  const cases: Array<[string, string]> = [
    ['', 'EOF while parsing a value at line 1 column 0'],
    ['abc', 'expected value at line 1 column 1'],
    ['{', 'EOF while parsing an object at line 1 column 1'],
    ['true x', 'trailing characters at line 1 column 6'],
    ['1e400', 'number out of range at line 1 column 5'],
  ];
  for (const [input, message] of cases)
    t.throws(() => parseJson(input), { name: 'JsonSyntaxError', message }, JSON.stringify(input));
  t.equal(expectedBoolean(parseJson('1')), 'invalid type: integer `1`, expected a boolean at line 1 column 1');
  t.equal(expectedBoolean(parseJson('"on"')), 'invalid type: string "on", expected a boolean at line 1 column 4');
  t.equal(expectedBoolean(parseJson('null')), 'invalid type: null, expected a boolean at line 1 column 4');
  t.equal(
    expectedBoolean(parseJson(' 1.5')),
    'invalid type: floating point `1.5`, expected a boolean at line 1 column 4',
  );
});

t.test('integer literals keep their exact value; -0, fractions and exponents are floats', async (t) => {
  t.match(parseJson('40'), { t: 'int', v: 40n });
  t.match(parseJson('18446744073709551615'), { t: 'int', v: 18446744073709551615n }, 'u64 max stays exact');
  t.match(parseJson('18446744073709551616'), { t: 'float' }, 'beyond u64 is a float');
  t.match(parseJson('-5'), { t: 'int', v: -5n });
  for (const f of ['40.0', '4e1', '-0', '1E2', '0.5']) t.match(parseJson(f), { t: 'float' }, f);
});

t.test('objects keep the last duplicate, strings decode escapes and UTF-8', async (t) => {
  const v = parseJson('{"a":1,"b":2,"a":3}');
  t.equal(v.t, 'obj');
  if (v.t === 'obj') {
    t.same([...v.v.keys()], ['b', 'a']);
    t.match(v.v.get('a'), { t: 'int', v: 3n });
  }
  t.match(parseJson('"\\u00e9\\n\\ud83d\\ude00é"'), { t: 'str', v: 'é\n😀é' });
});

t.test('malformed input always gives a positioned syntax error, never a crash', async (t) => {
  const bad = [
    '[1,]',
    '{"a":1,}',
    '{"a" 1}',
    '{1:2}',
    '[1 2]',
    '"abc',
    '"\\x"',
    '"\u0001"',
    'tru',
    'trux',
    '01',
    '-',
    '1.',
    '1e',
    '{"a":',
    '[',
    '"\\ud800"',
    '\u00ff',
    '['.repeat(200),
    'nul',
    '{"a":1',
    '[1',
  ];
  for (const input of bad)
    t.throws(
      () => parseJson(input),
      { name: 'JsonSyntaxError', message: / at line \d+ column \d+$/ },
      JSON.stringify(input),
    );
  t.throws(() => parseJson('[1,\n2,\n]'), { message: 'trailing comma at line 3 column 1' });
});

import t from 'tap';
import { float, formatFloat4, formatFloat5, stringify } from '../../../engine/api/json-write.js';

t.test('dialect 5 floats: shortest round trip, integral keeps .0', async (t) => {
  t.equal(formatFloat5(10), '10.0');
  t.equal(formatFloat5(0), '0.0');
  t.equal(formatFloat5(12.20703125), '12.20703125');
  t.equal(formatFloat5(Math.fround(0.3)), '0.30000001192092896');
  t.equal(formatFloat5(0.00005035400317865424), '0.00005035400317865424');
  t.equal(formatFloat5(1e16), '1e16');
  t.equal(formatFloat5(1e-6), '1e-6');
  t.equal(formatFloat5(65.535), '65.535');
});

t.test('dialect 4 floats: Python repr', async (t) => {
  t.equal(formatFloat4(5.035400390625e-5), '5.035400390625e-05');
  t.equal(formatFloat4(0.30000000000000004), '0.30000000000000004');
  t.equal(formatFloat4(10), '10.0');
  t.equal(formatFloat4(1e16), '1e+16');
  t.equal(formatFloat4(0.0001), '0.0001');
});

t.test('key order and layout per dialect', async (t) => {
  const v = { usb1: false, usb0: true, V_in: float(12), '5v_output_enabled': true, n: 48 };
  t.equal(stringify(v), '{"5v_output_enabled":true,"V_in":12.0,"n":48,"usb0":true,"usb1":false}');
  t.equal(stringify(v, 4), '{"usb1": false, "usb0": true, "V_in": 12.0, "5v_output_enabled": true, "n": 48}');
  t.equal(stringify('a"b\\c\u0001/é'), '"a\\"b\\\\c\\u0001/é"');
  t.equal(stringify([float(1), 2]), '[1.0,2]');
});

import t from 'tap';
import {
  decodeIin,
  decodeMillis,
  decodeTemperature,
  decodeThreshold,
  decodeVcap,
  decodeVin,
  decodeWatchdogElapsed,
  dfuStateName,
  DFU_STATES,
  encodeBrightness,
  encodeMillis16,
  encodeMillis32,
  encodeThreshold,
  formatDeviceId,
  formatVersion,
  hex2,
  POWER_STATES,
  powerStateName,
  T_MIN,
  T_RANGE,
} from '../../engine/registers.js';
import {
  decodeThresholdWrite,
  encodeIin,
  encodeTemperature,
  encodeThresholdRead,
  encodeVcap,
  encodeVin,
} from '../../engine/simulator/encoding.js';

// JSON text as halpid 5.0.2 prints a float field: shortest round-trip plus ".0" when integral.
const asFloat = (x: number): string => {
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
};

t.test('host decode vectors of docs/api.md print digit for digit', async (t) => {
  const vectors: Array<[string, (raw: number) => number, number, string]> = [
    ['V_in', decodeVin, 0, '0.0'],
    ['V_in', decodeVin, 14745, '8.9996337890625'],
    ['V_in', decodeVin, 19660, '11.99951171875'],
    ['V_in', decodeVin, 20000, '12.20703125'],
    ['V_in', decodeVin, 65535, '39.9993896484375'],
    ['V_cap', decodeVcap, 47662, '7.999908447265625'],
    ['V_cap', decodeVcap, 61000, '10.2386474609375'],
    ['I_in', decodeIin, 9929, '0.4999648928642273'],
    ['I_in', decodeIin, 7000, '0.35247802734375'],
    ['T', decodeTemperature, 0, '233.14999389648438'],
    ['T', decodeTemperature, 30426, '298.1469421386719'],
    ['T', decodeTemperature, 33000, '303.6455993652344'],
    ['T', decodeTemperature, 35000, '307.9180603027344'],
    ['T', decodeTemperature, 65535, '373.1478576660156'],
    ['watchdog_elapsed', decodeWatchdogElapsed, 0, '0.0'],
    ['watchdog_elapsed', decodeWatchdogElapsed, 1, '0.10000000149011612'],
    ['watchdog_elapsed', decodeWatchdogElapsed, 3, '0.30000001192092896'],
    ['threshold', decodeThreshold, 47661, '7.9997406005859375'],
    ['threshold', decodeThreshold, 32767, '5.4998321533203125'],
    ['threshold', decodeThreshold, 47662, '7.999908447265625'],
    ['threshold', decodeThreshold, 32768, '5.5'],
    ['threshold', decodeThreshold, 59578, '9.999969482421875'],
    ['watchdog_timeout', decodeMillis, 10000, '10.0'],
    ['watchdog_timeout', decodeMillis, 1, '0.001'],
    ['watchdog_timeout', decodeMillis, 65535, '65.535'],
    ['watchdog_timeout', decodeMillis, 0, '0.0'],
    ['solo_depleting_timeout', decodeMillis, 5000, '5.0'],
  ];
  for (const [name, fn, raw, json] of vectors) t.equal(asFloat(fn(raw)), json, `${name} raw ${raw}`);
  // I_in raw 1 prints in positional notation in JSON (docs/api.md); the float itself must match.
  t.equal(decodeIin(1), 0.00005035400317865424, 'I_in raw 1');
  t.equal(T_MIN, 233.14999389648438);
  t.equal(T_RANGE, 140);
});

t.test('host encode vectors of docs/api.md', async (t) => {
  const wd: Array<[number, number]> = [
    [10, 10000],
    [10.5, 10500],
    [0.0015, 1],
    [100, 65535],
    [-1, 0],
    [NaN, 0],
  ];
  for (const [v, raw] of wd) t.equal(encodeMillis16(v), raw, `watchdog_timeout ${v}`);
  const thr: Array<[number, number]> = [
    [8, 47662],
    [5.5, 32768],
    [10, 59578],
    [20, 65535],
    [-1, 0],
  ];
  for (const [v, raw] of thr) t.equal(encodeThreshold(v), raw, `power_on_threshold ${v}`);
  t.equal(encodeBrightness(48), 48);
  t.equal(encodeBrightness(256), 0);
  t.equal(encodeBrightness(300), 44);
  t.equal(encodeBrightness(18446744073709551615n), 255, 'modulo on the exact decimal value');
  t.equal(encodeMillis32(5), 5000);
  t.equal(encodeMillis32(1e10), 4294967295);
});

t.test('controller encode vectors of docs/controller.md', async (t) => {
  t.equal(encodeThresholdRead(Math.fround(8.0)), 47661, '0x13 default reads 47661');
  t.equal(encodeThresholdRead(Math.fround(5.5)), 32767, '0x14 default reads 32767');
  // Host writes 8.0 V: sends 47662, controller stores 8.000030517578125 V and reads back 47662.
  t.equal(decodeThresholdWrite(47662), 8.000030517578125);
  t.equal(encodeThresholdRead(decodeThresholdWrite(47662)), 47662);
  t.equal(decodeThresholdWrite(32768), 5.500083923339844);
  t.equal(encodeThresholdRead(decodeThresholdWrite(32768)), 32768);
  t.equal(encodeThresholdRead(decodeThresholdWrite(59578)), 59578);
  t.equal(encodeThresholdRead(decodeThresholdWrite(27)), 26, 'raw 27 reads back as 26');
  t.equal(encodeVin(9.0), 14745);
  t.equal(encodeVin(12.0), 19660);
  t.equal(encodeVin(24.0), 39321);
  t.equal(encodeVin(40.0), 65535);
  t.equal(encodeVin(55.0), 65535, 'saturates');
  t.equal(encodeVcap(8.0), 47662);
  t.equal(encodeVcap(10.25), 61067);
  t.equal(encodeVcap(10.8), 64344);
  t.equal(encodeVcap(11.5), 65535);
  t.equal(encodeIin(0.5), 9929);
  t.equal(encodeIin(1.0), 19859);
  t.equal(encodeTemperature(298.15), 30426);
  t.equal(encodeTemperature(310.15), 36044);
  t.equal(encodeTemperature(233.15), 0);
  t.equal(encodeTemperature(200), 0);
  t.equal(encodeTemperature(373.15), 65535);
  t.equal(encodeTemperature(400), 65535);
});

t.test('versions, device id and state names', async (t) => {
  t.equal(formatVersion([3, 3, 1, 0xff]), '3.3.1');
  t.equal(formatVersion([3, 2, 1, 1]), '3.2.1-a1');
  t.equal(formatVersion([0, 0, 0xff, 0xff]), 'N/A');
  t.equal(formatVersion([0xff, 0xff, 0xff, 0xff]), 'N/A');
  t.equal(formatVersion([0, 6, 0, 0xff]), '0.6.0');
  t.equal(formatDeviceId([0xe6, 0x61, 0x64, 0x84, 0x0b, 0xce, 0x75, 0x21]), 'e66164840bce7521');
  t.equal(POWER_STATES.length, 14);
  t.equal(DFU_STATES.length, 9);
  t.equal(powerStateName(4), 'OperationalCoOp');
  t.equal(powerStateName(13), 'Standby');
  t.throws(() => powerStateName(255), { message: 'Invalid power state value: 255' });
  t.equal(dfuStateName(5), 'CrcError');
  t.throws(() => dfuStateName(9), { message: 'Invalid DFU state value: 9' });
});

t.test('I_in raw 9: float32 at every step, where double arithmetic gives another number', async (t) => {
  t.equal(decodeIin(9), 0.0004531860176939517, 'f(f(f(3.3) × 9) / 65536)');
  t.not(decodeIin(9), (3.3 * 9) / 65536, 'not the double result (0.00045318603515625)');
  t.not(decodeIin(9), Math.fround((3.3 * 9) / 65536), 'nor the double result rounded once');
});

t.test('"N/A" only for major 255 or exactly 00 00 FF FF; every near miss is a version', async (t) => {
  t.equal(formatVersion([0xff, 1, 2, 0xff]), 'N/A');
  t.equal(formatVersion([0, 0, 0xff, 1]), '0.0.255-a1');
  t.equal(formatVersion([0, 1, 0xff, 0xff]), '0.1.255');
  t.equal(formatVersion([1, 0, 0xff, 0xff]), '1.0.255');
  t.equal(formatVersion([0, 0, 0xfe, 0xff]), '0.0.254');
});

t.test('register numbers in messages: 0x and two upper-case digits; decode errors are named', async (t) => {
  t.equal(hex2(0x1a), '0x1A');
  t.equal(hex2(4), '0x04');
  t.throws(() => powerStateName(14), { name: 'DecodeError' });
  t.equal(encodeBrightness(300n), 44, 'a bigint, exactly');
  t.equal(encodeBrightness(18446744073709551617n), 1, 'beyond 2^53, exactly');
});

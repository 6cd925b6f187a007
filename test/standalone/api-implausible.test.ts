// Implausible readings are not published (docs/api.md): a corrupted transfer (0xFF bytes, a
// full-scale value) of a measurement register is answered exactly as a failed read of that
// register, in both dialects, and /metrics never shows it. Through the simulator's `corrupt` fault.
import t from 'tap';
import { decodeTemperature, decodeVcap } from '../../engine/registers.js';
import { json, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const answer = async (d: RunningDaemon, fault: 'corrupt' | 'nack', register: number, path: string) => {
  await d.req('DELETE', '/sim/faults');
  await d.req('POST', '/sim/faults', json({ kind: fault, op: 'read', registers: [register], count: 0 }));
  const r = await d.req('GET', path);
  await d.req('DELETE', '/sim/faults');
  return { status: r.status, type: r.headers['content-type'], text: r.text };
};

const metric = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

for (const dialect of ['5', '4'] as const) {
  t.test(`dialect ${dialect}: a full-scale V_cap or T_mcu is answered as a failed read of its register`, async (t) => {
    const d = await startDaemon(['--api-compat', dialect]);
    t.teardown(() => d.stop());
    const cases = [
      { register: 0x21, key: dialect === '4' ? 'V_supercap' : 'V_cap' },
      { register: 0x23, key: 'T_mcu' },
    ];
    for (const { register, key } of cases) {
      for (const path of ['/values', `/values/${key}`]) {
        const corrupt = await answer(d, 'corrupt', register, path);
        const failed = await answer(d, 'nack', register, path);
        t.same(corrupt, failed, `${path} with 0x${register.toString(16)} corrupted: as a failed read`);
        t.equal(corrupt.status, 500);
        if (dialect === '5')
          t.equal(corrupt.text, `{"error":"Failed to read from register 0x${register.toString(16).toUpperCase()}"}`);
      }
    }
    t.equal((await d.req('GET', '/values')).status, 200, 'readings come back once the fault is gone');
  });
}

t.test('/metrics never shows a full-scale reading; it is counted as a failed read', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  await d.req('GET', '/values');
  const before = (await d.req('GET', '/metrics')).text;
  const failuresBefore = metric(before, 'halpi_i2c_failures_total\\{op="read"\\}')!;
  for (const register of [0x21, 0x23]) {
    await d.req('POST', '/sim/faults', json({ kind: 'corrupt', op: 'read', registers: [register], count: 0 }));
    t.equal((await d.req('GET', '/values')).status, 500);
    const text = (await d.req('GET', '/metrics')).text;
    t.not(metric(text, 'halpi_supercap_voltage_volts'), decodeVcap(0xffff), 'no full-scale V_cap');
    t.not(metric(text, 'halpi_mcu_temperature_celsius'), decodeTemperature(0xffff) - 273.15, 'no full-scale T_mcu');
    t.ok(metric(text, 'halpi_supercap_voltage_volts')! < 11, 'V_cap is the last plausible one');
    await d.req('DELETE', '/sim/faults');
  }
  const after = (await d.req('GET', '/metrics')).text;
  t.ok(metric(after, 'halpi_i2c_failures_total\\{op="read"\\}')! >= failuresBefore + 2, 'counted as failed reads');
});

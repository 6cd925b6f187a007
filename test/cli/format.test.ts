import t from 'tap';
import { STATUS_EXAMPLE } from '../helpers/fixtures.js';
import { colours, configNumber, roundHalfEven, statusTable } from '../../cli/format.js';

t.test('round half to even on the exact binary value (docs/cli.md)', async (t) => {
  const cases: Array<[number, number, string]> = [
    [11.25, 1, '11.2'],
    [10.75, 1, '10.8'],
    [12.25, 1, '12.2'],
    [0.25, 1, '0.2'],
    [0.125, 2, '0.12'],
    [0.375, 2, '0.38'],
    [2.5, 0, '2'],
    [-2.5, 0, '-2'],
    [1.005, 2, '1.00'],
    [0.35247802734375, 2, '0.35'],
    [34.7680603027344, 1, '34.8'],
    [0, 1, '0.0'],
    [-0.04, 1, '0.0'],
    [12.20703125, 1, '12.2'],
    [5e-324, 2, '0.00'],
    [1e21, 0, '1000000000000000000000'],
  ];
  for (const [x, d, s] of cases) t.equal(roundHalfEven(x, d), s, `${x} to ${d}`);
  t.equal(configNumber(10), '10');
  t.equal(configNumber(7.9997406005859375), '8');
  t.equal(configNumber(5.4998321533203125), '5.5');
  t.equal(configNumber(0.005), '0.01', '0.005 is slightly above the tie');
  t.equal(configNumber(48), '48');
});

t.test('the status table of docs/cli.md, exactly', async (t) => {
  const values = JSON.parse(
    '{"5v_output_enabled":true,"I_in":0.35247802734375,"T_mcu":307.9180603027344,"T_pcb":303.6455993652344,"V_cap":10.2386474609375,"V_in":12.20703125,"daemon_version":"5.0.2","device_id":"e66164840bce7521","firmware_version":"3.3.1","hardware_version":"N/A","state":"OperationalCoOp","watchdog_elapsed":0.0,"watchdog_enabled":true,"watchdog_timeout":10.0}',
  );
  const plain = colours({ isTTY: false }, {}, false);
  t.equal(statusTable(values, { usb0: true, usb1: true, usb2: false, usb3: true }, plain), STATUS_EXAMPLE);
  const solo = {
    ...values,
    watchdog_enabled: false,
    state: 'OperationalSolo',
    V_cap: undefined,
    V_supercap: 10.25,
    usb_port_state: 15,
  };
  const text = statusTable(solo, null, plain);
  t.notMatch(text, /watchdog_timeout/, 'timeout rows left out when disabled');
  t.match(text, /^V_cap {30}10\.25 V$/m, 'V_supercap of halpid 4.0.7');
  t.match(text, /^usb_ports {16}USB0:✓ USB1:✓ USB2:✓ USB3:✓$/m, 'from usb_port_state');
  t.notMatch(statusTable(values, null, plain), /usb_ports/, 'no USB row when unknown');
  const tty = colours({ isTTY: true }, {}, false);
  t.match(
    statusTable(values, null, tty),
    /^state {20}\u001b\[32mOperationalCoOp\u001b\[0m$/m,
    'green state on a TTY, padded before colouring',
  );
  t.notMatch(statusTable(values, null, colours({ isTTY: true }, { NO_COLOR: '1' }, false)), /\u001b/, 'NO_COLOR');
  t.notMatch(statusTable(values, null, colours({ isTTY: true }, {}, true)), /\u001b/, '--no-color');
});

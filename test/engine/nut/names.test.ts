// GET DESC and GET TYPE as upsd answers them (engine/nut/names.ts): NUT's own descriptions from
// data/cmdvartab for every variable halpid serves, its words for an unknown one, STRING:64 for the
// text variables and NUMBER for the measured ones, the name in any case.
import t from 'tap';
import { description, NO_DESCRIPTION, STRING_LENGTH, typeOf } from '../../../engine/nut/names.js';

// What `upsc -d`-style clients show next to each variable (NUT 2.8.3's data/cmdvartab).
const NUT_DESCRIPTIONS: Array<[string, string, string]> = [
  ['ups.status', 'UPS status', 'STRING:64'],
  ['ups.mfr', 'UPS manufacturer', 'STRING:64'],
  ['ups.model', 'UPS model', 'STRING:64'],
  ['ups.firmware', 'UPS firmware', 'STRING:64'],
  ['ups.temperature', 'UPS temperature (degrees C)', 'NUMBER'],
  ['input.voltage', 'Input voltage (V)', 'NUMBER'],
  ['input.current', 'Input current (A)', 'NUMBER'],
  ['battery.charge', 'Battery charge (percent of full)', 'NUMBER'],
  ['battery.voltage', 'Battery voltage (V)', 'NUMBER'],
  ['battery.runtime', 'Battery runtime (seconds)', 'NUMBER'],
  ['battery.runtime.low', 'Remaining battery runtime when UPS switches to LB (seconds)', 'NUMBER'],
  ['device.mfr', 'Device manufacturer', 'STRING:64'],
  ['device.model', 'Device model', 'STRING:64'],
  ['device.serial', 'Device serial number', 'STRING:64'],
  ['device.type', 'Device type', 'STRING:64'],
  ['driver.name', 'Driver name', 'STRING:64'],
  ['driver.version', 'Driver version - NUT release', 'STRING:64'],
  ['server.info', 'Server information', 'NUMBER'],
  ['server.version', 'Server version', 'NUMBER'],
];

t.test("each variable's description and type, as upsd gives them", async (t) => {
  t.equal(STRING_LENGTH, 64);
  for (const [name, desc, type] of NUT_DESCRIPTIONS) {
    t.equal(description(name), desc, `DESC ${name}`);
    t.equal(typeOf(name), type, `TYPE ${name}`);
    t.equal(description(name.toUpperCase()), desc, `DESC ${name.toUpperCase()}: any case`);
    t.equal(typeOf(name.toUpperCase()), type, `TYPE ${name.toUpperCase()}: any case`);
  }
});

t.test('a name upsd has no description for', async (t) => {
  t.equal(NO_DESCRIPTION, 'Description unavailable');
  for (const name of ['ups.nothing', 'battery', '', 'toString', '__proto__', 'constructor']) {
    t.equal(description(name), 'Description unavailable', JSON.stringify(name));
    t.equal(typeOf(name), 'NUMBER', JSON.stringify(name));
  }
});

// What upsd says about a variable besides its value: its description (GET DESC, from NUT's
// data/cmdvartab, which upsd reads at start-up) and its type (GET TYPE). Only the variables halpid
// serves; upsd answers "Description unavailable" for a name it has no description for, and so do we.

/** NUT's own descriptions (data/cmdvartab; the device.* ones since NUT 2.8.3). */
const DESCRIPTIONS = new Map(
  Object.entries({
    'ups.status': 'UPS status',
    'ups.mfr': 'UPS manufacturer',
    'ups.model': 'UPS model',
    'ups.firmware': 'UPS firmware',
    'ups.temperature': 'UPS temperature (degrees C)',
    'input.voltage': 'Input voltage (V)',
    'input.current': 'Input current (A)',
    'battery.charge': 'Battery charge (percent of full)',
    'battery.voltage': 'Battery voltage (V)',
    'battery.runtime': 'Battery runtime (seconds)',
    'battery.runtime.low': 'Remaining battery runtime when UPS switches to LB (seconds)',
    'device.mfr': 'Device manufacturer',
    'device.model': 'Device model',
    'device.serial': 'Device serial number',
    'device.type': 'Device type',
    'driver.name': 'Driver name',
    'driver.version': 'Driver version - NUT release',
    'server.info': 'Server information',
    'server.version': 'Server version',
  }),
);

export const NO_DESCRIPTION = 'Description unavailable';

/** upsd looks names up without regard to case. A Map: `__proto__` or `constructor` is no description. */
export const description = (name: string): string => DESCRIPTIONS.get(name.toLowerCase()) ?? NO_DESCRIPTION;

/** Text, not numbers: GET TYPE says STRING:n for these (n the longest value a client should expect). */
const STRINGS = new Set([
  'ups.status',
  'ups.mfr',
  'ups.model',
  'ups.firmware',
  'device.mfr',
  'device.model',
  'device.serial',
  'device.type',
  'driver.name',
  'driver.version',
]);
export const STRING_LENGTH = 64;

/** The <type> words of a TYPE reply: none of halpid's variables is writable (RW), enumerated or ranged. */
export const typeOf = (name: string): string =>
  STRINGS.has(name.toLowerCase()) ? `STRING:${STRING_LENGTH}` : 'NUMBER';

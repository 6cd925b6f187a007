// Tables of the API's contract (docs/api.md) that the in-process router tests and the tests of
// the running halpid both hold it to: one list, so the two cannot drift apart.

/** A method a path does not take: 405 with exactly this `Allow`. */
export const NOT_ALLOWED: ReadonlyArray<readonly [method: string, path: string, allow: string]> = [
  ['DELETE', '/', 'GET,HEAD'],
  ['POST', '/version', 'GET,HEAD'],
  ['POST', '/values', 'GET,HEAD'],
  ['DELETE', '/values/V_in', 'GET,HEAD'],
  ['PUT', '/config', 'GET,HEAD'],
  ['POST', '/config/led_brightness', 'GET,HEAD,PUT'],
  ['DELETE', '/usb', 'GET,HEAD,PUT'],
  ['POST', '/usb/1', 'GET,HEAD,PUT'],
  ['GET', '/shutdown', 'POST'],
  ['GET', '/standby', 'POST'],
  ['HEAD', '/flash', 'POST'],
  ['OPTIONS', '/', 'GET,HEAD'],
  ['POST', '/events', 'GET,HEAD'],
  ['PUT', '/history', 'GET,HEAD'],
  ['PUT', '/metrics', 'GET,HEAD'],
  ['POST', '/sim', 'GET,HEAD'],
];

/** Dialect 4 (halpid 4.0.7): a PUT /config/<key> body coerced as 4.0.7 did, and what is then read. */
export const DIALECT4_COERCED: ReadonlyArray<readonly [key: string, body: string, reads: unknown]> = [
  ['auto_restart', '0', false],
  ['auto_restart', '1', true],
  ['auto_restart', '2.5', true],
  ['auto_restart', 'false', false],
  ['auto_restart', 'true', true],
  ['led_brightness', '40.5', 40],
  ['led_brightness', '40.9', 40],
  ['led_brightness', 'true', 1],
  ['led_brightness', 'false', 0],
  ['led_brightness', '48', 48],
  ['watchdog_timeout', '12', 12],
  ['watchdog_timeout', '10.5', 10.5],
  ['solo_depleting_timeout', '7', 7],
  ['solo_depleting_timeout', 'true', 1],
  ['solo_depleting_timeout', '5', 5],
];

/** Dialect 4: a PUT /config/<key> body refused with 4.0.7's text (400, text/plain). */
export const DIALECT4_REFUSED: ReadonlyArray<readonly [key: string, body: string, text: string]> = [
  ['auto_restart', '"yes"', 'Value must be a boolean or number'],
  ['auto_restart', 'null', 'Value must be a boolean or number'],
  ['led_brightness', '"40"', 'Value must be a number'],
  ['watchdog_timeout', '[10]', 'Value must be a number'],
  ['power_on_threshold', '{}', 'Value must be a number'],
];

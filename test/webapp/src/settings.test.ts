// The panel's checks of a setting before it is sent (webapp/src/settings.ts): what the
// controller would not keep as typed is refused with a message saying why.
import t from 'tap';
import { check, FIELDS, show } from '../../../webapp/src/settings.js';

const no = (error: string) => ({ ok: false, error });
const yes = (value: number | boolean) => ({ ok: true, value });

t.test('empty: say so', async (t) => {
  for (const f of FIELDS) t.same(check(f.key, '  '), no('Enter a value'), f.key);
});

t.test('the power-on threshold: 5–10 V, two decimals', async (t) => {
  t.same(check('power_on_threshold', ' 8.25 '), yes(8.25));
  t.same(check('power_on_threshold', '5'), yes(5));
  t.same(check('power_on_threshold', '10.'), yes(10));
  t.same(check('power_on_threshold', '+7'), yes(7));
  t.same(
    check('power_on_threshold', '4.99'),
    no('The power-on threshold must be from 5 to 10 V; 4.99 is out of range'),
  );
  t.same(
    check('power_on_threshold', '10.01'),
    no('The power-on threshold must be from 5 to 10 V; 10.01 is out of range'),
  );
  t.same(check('power_on_threshold', '8.125'), no('The power-on threshold takes at most 2 decimals'));
  for (const bad of ['8V', 'eight', '1e1', '8,5', '.', '8.2.1', '0x8', 'a8'])
    t.same(check('power_on_threshold', bad), no('The power-on threshold must be a number from 5 to 10 V'), bad);
});

t.test('the solo power-off threshold: 4.5–10 V', async (t) => {
  t.same(check('solo_power_off_threshold', '4.5'), yes(4.5));
  t.same(
    check('solo_power_off_threshold', '.45e1'),
    no('The solo power-off threshold must be a number from 4.5 to 10 V'),
  );
  t.same(
    check('solo_power_off_threshold', '4.49'),
    no('The solo power-off threshold must be from 4.5 to 10 V; 4.49 is out of range'),
  );
});

t.test('the solo blackout timeout: 0–60 s, three decimals', async (t) => {
  t.same(check('solo_depleting_timeout', '0'), yes(0));
  t.same(check('solo_depleting_timeout', '60'), yes(60));
  t.same(check('solo_depleting_timeout', '.5'), yes(0.5));
  t.same(check('solo_depleting_timeout', '.125'), yes(0.125));
  t.same(check('solo_depleting_timeout', '1.125'), yes(1.125));
  t.same(check('solo_depleting_timeout', '1.1255'), no('The solo blackout timeout takes at most 3 decimals'));
  t.same(
    check('solo_depleting_timeout', '-1'),
    no('The solo blackout timeout must be from 0 to 60 s; -1 is out of range'),
  );
  t.same(
    check('solo_depleting_timeout', '60.001'),
    no('The solo blackout timeout must be from 0 to 60 s; 60.001 is out of range'),
  );
});

t.test('the watchdog: 0 (off) or 10–65.535 s', async (t) => {
  t.same(check('watchdog_timeout', '0'), yes(0));
  t.same(check('watchdog_timeout', '10'), yes(10));
  t.same(check('watchdog_timeout', '65.535'), yes(65.535));
  const short =
    'The watchdog timeout must be 0 (off) or from 10 to 65.535 s: a shorter one power-cycles a busy computer';
  t.same(check('watchdog_timeout', '9.999'), no(short));
  t.same(check('watchdog_timeout', '0.001'), no(short));
  t.same(
    check('watchdog_timeout', '65.536'),
    no('The watchdog timeout must be from 0 to 65.535 s; 65.536 is out of range'),
  );
  t.same(check('watchdog_timeout', '10.0001'), no('The watchdog timeout takes at most 3 decimals'));
  t.same(check('watchdog_timeout', 'off'), no('The watchdog timeout must be a number from 0 to 65.535 s'));
});

t.test('the LED brightness: a whole number 0–255', async (t) => {
  t.same(check('led_brightness', '0'), yes(0));
  t.same(check('led_brightness', '255'), yes(255));
  t.same(check('led_brightness', '256'), no('LED brightness must be from 0 to 255; 256 is out of range'));
  for (const bad of ['1.5', '-1', '+3', 'x12', '12x'])
    t.same(check('led_brightness', bad), no('LED brightness must be a whole number from 0 to 255'), bad);
});

t.test('restart when power returns: true or false', async (t) => {
  t.same(check('auto_restart', 'true'), yes(true));
  t.same(check('auto_restart', 'false'), yes(false));
  t.same(check('auto_restart', 'yes'), no('Restart when power returns must be true or false'));
});

t.test('shown as the controller rounds it: volts with two decimals, the rest as they are', async (t) => {
  const field = (key: string) => FIELDS.find((f) => f.key === key)!;
  t.equal(show(field('power_on_threshold'), 7.999740123), '8.00');
  t.equal(show(field('watchdog_timeout'), 10.5), '10.5');
  t.equal(show(field('auto_restart'), true), 'true');
  t.equal(show(field('power_on_threshold'), true), 'true', 'a server answering a boolean for volts: shown as it is');
  t.same(
    FIELDS.map((f) => [f.key, f.leaf, f.label, f.unit, f.hint]),
    [
      ['power_on_threshold', 'config.powerOnThreshold', 'Power-on threshold', 'V', '5–10 V'],
      ['solo_power_off_threshold', 'config.soloPowerOffThreshold', 'Solo power-off threshold', 'V', '4.5–10 V'],
      ['solo_depleting_timeout', 'config.soloDepletingTimeout', 'Solo blackout timeout', 's', '0–60 s'],
      ['watchdog_timeout', 'watchdog.timeout', 'Watchdog timeout', 's', '0 = off, else 10–65.535 s'],
      ['led_brightness', 'config.ledBrightness', 'LED brightness', '', 'a whole number, 0–255'],
      ['auto_restart', 'config.autoRestart', 'Restart when power returns', '', 'true or false'],
    ],
    'each setting on its Signal K path, with its label, unit and the range it takes',
  );
});

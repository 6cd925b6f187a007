import t from 'tap';
import { configValueProblem } from '../../engine/config-ranges.js';

t.test("each setting's range, its ends included", async (t) => {
  const ok = (key: string, v: unknown) => configValueProblem(key, v) === null;
  t.same(
    [0, 10, 65.535].map((v) => ok('watchdog_timeout', v)),
    [true, true, true],
  );
  t.same(
    [5, 9.999, 65.536, -1].map((v) => ok('watchdog_timeout', v)),
    [false, false, false, false],
  );
  t.same(
    [0, 255, 256, 12.5].map((v) => ok('led_brightness', v)),
    [true, true, false, false],
  );
  t.same(
    [5, 10, 4.99, 10.01].map((v) => ok('power_on_threshold', v)),
    [true, true, false, false],
  );
  t.same(
    [4.5, 10, 4.49].map((v) => ok('solo_power_off_threshold', v)),
    [true, true, false],
  );
  t.same(
    [0, 60, 60.001].map((v) => ok('solo_depleting_timeout', v)),
    [true, true, false],
  );
  t.same(
    [true, false, 1, 'true'].map((v) => ok('auto_restart', v)),
    [true, true, false, false],
  );
  t.same(
    [NaN, Infinity, '10', null].map((v) => ok('watchdog_timeout', v)),
    [false, false, false, false],
  );
  t.equal(configValueProblem('nope', 1), null, 'an unknown key is for the daemon to refuse');
  t.equal(configValueProblem('led_brightness', 300), 'an integer from 0 to 255');
  t.equal(configValueProblem('power_on_threshold', 11), 'a number from 5 to 10 V');
});

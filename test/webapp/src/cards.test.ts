// The state cards and the badge (webapp/src/cards.ts): on the supercap the current and power
// cards say what the supercap delivers, not the dead input.
import t from 'tap';
import { badgeClass, capPercent, onOff, powerTexts, watchdogText } from '../../../webapp/src/cards.js';
import { EMPTY } from '../../../webapp/src/model.js';

const supply = { charge: 86.6, runtime: 40, power: 7.25, current: 0.8349 };

t.test('on input power: the input current and its power, the charge in %', async (t) => {
  t.same(powerTexts({ ...EMPTY, daemonState: 'OK', V_in: 12.2, I_in: 0.5, supply }), {
    currentLabel: 'Current',
    powerLabel: 'Power',
    current: '0.50',
    power: '6.1',
    charge: '87 %',
  });
  t.same(powerTexts({ ...EMPTY, V_in: 12.2 }), {
    currentLabel: 'Current',
    powerLabel: 'Power',
    current: '—',
    power: '—',
    charge: '—',
  });
  t.equal(powerTexts({ ...EMPTY, I_in: 0.5 }).power, '—', 'no voltage, no power');
  t.equal(powerTexts({ ...EMPTY, supply: { ...supply, charge: null } }).charge, '—');
});

t.test('on the supercap (blackout, deadline or shutdown): what the supercap delivers', async (t) => {
  for (const d of [{ daemonState: 'BLACKOUT' }, { shutdownAt: 5 }, { shuttingDown: true }, { daemonState: 'SHUTDOWN' }])
    t.same(
      powerTexts({ ...EMPTY, ...d, V_in: 0, I_in: 0, supply }),
      { currentLabel: 'Supercap current', powerLabel: 'Supercap power', current: '0.83', power: '7.3', charge: '87 %' },
      JSON.stringify(d),
    );
  t.match(powerTexts({ ...EMPTY, daemonState: 'BLACKOUT', V_in: 0, I_in: 0 }), { current: '—', power: '—' });
});

t.test('the watchdog, the 5 V output, the supercap bar and the badge', async (t) => {
  t.equal(watchdogText({ ...EMPTY, watchdogEnabled: true, watchdogTimeout: 10 }), 'armed, 10.0 s');
  t.equal(watchdogText({ ...EMPTY, watchdogEnabled: false, watchdogTimeout: 10 }), 'off');
  t.equal(watchdogText(EMPTY), '—');
  t.same([onOff(true), onOff(false), onOff(null)], ['on', 'off', '—']);
  t.same(
    [capPercent(5.5), capPercent(0), capPercent(12), capPercent(-1), capPercent(null), capPercent(undefined)],
    ['50%', '0%', '100%', '0%', '0%', '0%'],
  );
  t.equal(badgeClass({ connected: true, message: '' }), 'badge ok');
  t.equal(badgeClass({ connected: false, message: '' }), 'badge danger');
});

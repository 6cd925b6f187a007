// Signal K's paths as the panel reads them (webapp/src/signalk-feed.ts), on a fake clock: the
// shutdown deadline when timeToShutdown arrives, the supercap, the settings in halpid's units,
// the alerts most severe first, and which controls a user may use.
import t from 'tap';
import { FakeClock } from '../../../engine/clock.js';
import { blackoutView, FORGET } from '../../../webapp/src/blackout-view.js';
import { EMPTY } from '../../../webapp/src/model.js';
import { SignalKFeed } from '../../../webapp/src/signalk-feed.js';

const P = 'electrical.halpi';

function rig() {
  const clock = new FakeClock();
  const feed = new SignalKFeed(P, () => clock.wallNow());
  const set = (values: Record<string, unknown>) => {
    for (const [leaf, v] of Object.entries(values)) feed.set(`${P}.${leaf}`, v);
  };
  const view = () => blackoutView({ ...EMPTY, ...feed.patch() }, FORGET, clock.wallNow()).texts;
  return { clock, feed, set, view };
}

t.test('everything the panel shows, from the paths', async (t) => {
  const r = rig();
  r.set({
    dcInputVoltage: 12.2,
    supercapVoltage: 10.2,
    inputCurrent: 0.35,
    mcuTemperature: 307.9,
    pcbTemperature: 303.6,
    powerState: 'OperationalCoOp',
    daemonState: 'OK',
    'watchdog.timeout': 10,
    'watchdog.enabled': true,
    'watchdog.elapsed': 0.5,
    'output5v.enabled': false,
    'usb.port0': true,
    'usb.port1': false,
    'usb.port2': true,
    'usb.port3': false,
    'config.powerOnThreshold': 8,
    'config.soloPowerOffThreshold': 5,
    'config.ledBrightness': 0.2,
    'config.autoRestart': true,
    'config.soloDepletingTimeout': 30,
    daemonVersion: '5.1.0',
    hardwareVersion: 'N/A',
    firmwareVersion: '3.3.1',
    deviceId: 'e661',
    mode: 'simulator',
    'supercap.stateOfCharge': 0.866,
    'supercap.timeRemaining': 40,
    'supercap.power': 7.25,
    'supercap.current': 0.83,
    'blackout.shuttingDown': false,
  });
  t.same(r.feed.patch(), {
    V_in: 12.2,
    V_cap: 10.2,
    I_in: 0.35,
    T_mcu: 307.9,
    T_pcb: 303.6,
    state: 'OperationalCoOp',
    daemonState: 'OK',
    watchdogTimeout: 10,
    watchdogEnabled: true,
    watchdogElapsed: 0.5,
    output5v: false,
    usb: [true, false, true, false],
    config: {
      watchdog_timeout: 10,
      power_on_threshold: 8,
      solo_power_off_threshold: 5,
      led_brightness: 51,
      auto_restart: true,
      solo_depleting_timeout: 30,
    },
    daemonVersion: '5.1.0',
    hardwareVersion: 'N/A',
    firmwareVersion: '3.3.1',
    deviceId: 'e661',
    simulator: true,
    shutdownAt: null,
    supply: { charge: 86.6, runtime: 40, power: 7.25, current: 0.83 },
    shuttingDown: false,
    alerts: [],
  });
});

t.test('what is missing or of the wrong type is unknown, never a guess', async (t) => {
  const r = rig();
  r.set({ 'usb.port0': true, 'usb.port1': true, 'usb.port2': true, dcInputVoltage: '12', powerState: 3 });
  r.set({ 'config.powerOnThreshold': 8, 'config.soloPowerOffThreshold': 5, 'config.autoRestart': 'yes' });
  r.set({ 'watchdog.enabled': 1, mode: 'i2c' });
  const p = r.feed.patch();
  t.equal(p.usb, null, 'three ports of four: no switches');
  t.equal(p.config, null, 'a setting missing: no settings');
  t.same([p.V_in, p.state, p.watchdogEnabled, p.simulator, p.supply], [null, null, null, false, null]);
  r.set({ 'supercap.timeRemaining': 12 });
  t.same(r.feed.patch().supply, { charge: null, runtime: 12, power: null, current: null }, 'a runtime alone');
  const s = rig();
  s.set({ 'supercap.stateOfCharge': 0.5 });
  t.same(s.feed.patch().supply, { charge: 50, runtime: null, power: null, current: null }, 'a charge alone');
  s.set({ 'config.ledBrightness': 1 });
  t.equal(s.feed.patch().config, null);
  const b = rig();
  b.set({
    'watchdog.timeout': 10,
    'config.powerOnThreshold': 8,
    'config.soloPowerOffThreshold': 5,
    'config.autoRestart': true,
    'config.soloDepletingTimeout': 30,
  });
  t.equal(b.feed.patch().config, null, 'every setting but the LED brightness: no settings');
});

t.test('the LED brightness: a ratio on Signal K, 0–255 on the panel, rounded', async (t) => {
  const r = rig();
  r.set({
    'watchdog.timeout': 0,
    'config.powerOnThreshold': 8,
    'config.soloPowerOffThreshold': 5,
    'config.ledBrightness': 0.5,
    'config.autoRestart': false,
    'config.soloDepletingTimeout': 0,
  });
  t.equal(r.feed.patch().config?.led_brightness, 128);
  r.set({ 'config.ledBrightness': 0 });
  t.equal(r.feed.patch().config?.led_brightness, 0, 'off is a value, not a missing one');
});

t.test('a blackout: the deadline from timeToShutdown when it arrives, and the view it makes', async (t) => {
  const r = rig();
  const start = r.clock.wallNow();
  r.set({ daemonState: 'BLACKOUT', 'blackout.timeToShutdown': 8 });
  t.equal(r.feed.patch().shutdownAt, start + 8000);
  t.equal(r.view()?.timer, '8');
  r.set({ supercapVoltage: 9.5, 'supercap.timeRemaining': 30 });
  t.equal(r.feed.patch().shutdownAt, start + 8000, 'other paths leave the deadline as it is');
  // Redrawn later with no new count: the deadline stays where it was.
  await r.clock.advance(2500);
  t.equal(r.feed.patch().shutdownAt, start + 8000);
  t.equal(r.view()?.timer, '6');
  // A count delivered late would move the deadline later: the earlier one holds.
  r.set({ 'blackout.timeToShutdown': 6 });
  t.equal(r.feed.patch().shutdownAt, start + 8000, 'a count 500 ms late');
  r.set({ 'blackout.timeToShutdown': 5 });
  t.equal(r.feed.patch().shutdownAt, start + 7500);
  // The count ends: no deadline; the shutdown begins.
  r.set({ 'blackout.timeToShutdown': null, 'blackout.shuttingDown': true });
  t.equal(r.feed.patch().shutdownAt, null);
  t.match(r.view(), { title: 'Shutting down after input power loss', timer: '0' });
  // The next blackout starts afresh.
  r.set({ daemonState: 'OK', 'blackout.shuttingDown': false });
  await r.clock.advance(60_000);
  r.set({ 'blackout.timeToShutdown': 5 });
  t.equal(r.feed.patch().shutdownAt, r.clock.wallNow() + 5000);
});

t.test('notifications: the active ones, most severe first; cleared ones go', async (t) => {
  const r = rig();
  r.feed.set(`notifications.${P}.a`, { state: 'warn', message: 'low' });
  r.feed.set(`notifications.${P}.b`, { state: 'emergency', message: 'shutting down' });
  r.feed.set(`notifications.${P}.c`, { state: 'normal', message: 'fine' });
  r.feed.set(`notifications.${P}.d`, { state: 'alarm' });
  r.feed.set(`notifications.${P}.e`, { state: 'alert', message: 'x' });
  t.same(r.feed.patch().alerts, [
    { state: 'emergency', message: 'shutting down' },
    { state: 'alarm', message: '' },
    { state: 'warn', message: 'low' },
    { state: 'alert', message: 'x' },
  ]);
  r.feed.set(`notifications.${P}.b`, null);
  r.feed.set(`notifications.${P}.d`, { message: 'no state' });
  t.same(r.feed.patch().alerts, [
    { state: 'warn', message: 'low' },
    { state: 'alert', message: 'x' },
  ]);
  t.equal(r.feed.patch().V_in, null, 'a notification is not a value');
});

t.test('which controls a user may use: the paths whose meta says supportsPut', async (t) => {
  const r = rig();
  t.equal(r.feed.canWrite, false);
  t.equal(r.feed.meta(`${P}.usb.port0`, { supportsPut: true }), null);
  t.equal(r.feed.canPut('usb.port0'), true);
  t.equal(r.feed.canPut('usb.port1'), false);
  t.equal(r.feed.canWrite, true);
  r.feed.meta(`${P}.usb.port0`, { units: 'bool' });
  t.equal(r.feed.canPut('usb.port0'), true, 'meta without supportsPut changes nothing');
  r.feed.meta(`${P}.usb.port0`, { supportsPut: false });
  t.equal(r.feed.canPut('usb.port0'), false);
  t.equal(r.feed.canWrite, false);
});

t.test('the low-voltage line of the chart from the input voltage zones', async (t) => {
  const r = rig();
  const zones = [
    { lower: 0, upper: 9, state: 'warn', message: 'input voltage low' },
    { lower: 9, upper: 30, state: 'normal', message: 'ok' },
  ];
  t.same(r.feed.meta(`${P}.dcInputVoltage`, { zones }), { voltageLimit: 0 });
  t.same(
    r.feed.meta(`${P}.dcInputVoltage`, {
      zones: [
        { upper: 9, message: 'low' },
        { lower: 9.5, message: 'low' },
      ],
    }),
    null,
  );
  t.equal(r.feed.meta(`${P}.dcInputVoltage`, { zones: [{ lower: 9, message: 'high' }, { lower: 3 }] }), null);
  t.equal(r.feed.meta(`${P}.dcInputVoltage`, { zones: 'low' }), null);
  t.equal(r.feed.meta(`${P}.supercapVoltage`, { zones }), null, 'only the input');
});

// The plugin's settings (plugin/options.ts): the server passes {} on first enable and stores
// whatever the form sent, so the defaults and the checks live in code.
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { adminSchema, uiSchema } from '../../plugin/admin-schema.js';
import { DEFAULT_OPTIONS, MODES, optionsSchema, resolveOptions, staleTimeoutMs } from '../../plugin/options.js';

t.test('an empty configuration gets every documented default', async (t) => {
  const { options, problems } = resolveOptions({});
  t.same(problems, []);
  t.same(options, {
    mode: 'auto',
    socketPath: '/run/halpid/halpid.sock',
    pollInterval: 1000,
    pathPrefix: 'electrical.halpi',
    staleTimeout: 5,
    engine: {
      i2cBus: 1,
      i2cAddress: 109,
      blackoutVoltageLimit: 9,
      blackoutTimeLimit: 5,
      poweroffCommand: '/sbin/poweroff',
      watchdogTimeout: 60,
    },
    notifications: {
      blackout: true,
      shutdown: true,
      connection: true,
      temperatureZones: true,
      mcuTempWarn: 75,
      mcuTempAlarm: 85,
      pcbTempWarn: 60,
      pcbTempAlarm: 70,
    },
    control: { usb: true, config: true, power: false },
    nut: { enabled: false, listen: '', user: '', password: '' },
  });
  t.same(resolveOptions(undefined).options, options, 'no configuration at all');
  t.ok(Value.Check(optionsSchema, options), 'the defaults pass the schema');
});

t.test('every option in the form has a title and a default; numbers have bounds', async (t) => {
  const walk = (schema: Record<string, unknown>, path: string): void => {
    if (schema.type === 'object') {
      for (const [k, s] of Object.entries(schema.properties as Record<string, Record<string, unknown>>))
        walk(s, path ? `${path}.${k}` : k);
      return;
    }
    t.ok(typeof schema.title === 'string' && schema.title !== '', `${path} has a title`);
    t.not(schema.default, undefined, `${path} has a default`);
    if (schema.type === 'number' || schema.type === 'integer') {
      t.ok(schema.minimum !== undefined || schema.exclusiveMinimum !== undefined, `${path} has a lower bound`);
      t.ok(schema.maximum !== undefined, `${path} has an upper bound`);
    }
  };
  walk(optionsSchema as unknown as Record<string, unknown>, '');
});

t.test('a bad value is replaced by its default and reported; good ones are kept', async (t) => {
  const { options, problems } = resolveOptions({
    mode: 'turbo',
    pollInterval: 50,
    pathPrefix: 'electrical..halpi',
    staleTimeout: 30,
    socketPath: 'relative.sock',
    engine: { i2cBus: 3, blackoutTimeLimit: 0, watchdogTimeout: 5 },
    control: { power: 'yes' },
    colour: 'blue',
  });
  t.equal(options.mode, 'auto');
  t.equal(options.pollInterval, 1000);
  t.equal(options.pathPrefix, 'electrical.halpi');
  t.equal(options.socketPath, '/run/halpid/halpid.sock');
  t.equal(options.staleTimeout, 30, 'a good value stays');
  t.equal(options.engine.i2cBus, 3, 'a good nested value stays');
  t.equal(options.engine.blackoutTimeLimit, 5, 'the limit must be above 0');
  t.equal(options.engine.watchdogTimeout, 60, 'the watchdog is 0 or at least 10 s');
  t.equal(options.control.power, false, 'power control stays off on a bad value');
  t.match(problems, [
    /^mode: .*\(got "turbo"\); using "auto"$/,
    /^socketPath: .*using "\/run\/halpid\/halpid.sock"$/,
    /^pollInterval: .*\(got 50\); using 1000$/,
    /^pathPrefix: .*\(got "electrical..halpi"\); using "electrical.halpi"$/,
    /^engine.blackoutTimeLimit: .*\(got 0\); using 5$/,
    /^control.power: .*\(got "yes"\); using false$/,
    /^colour: unknown option, ignored$/,
    /^engine.watchdogTimeout: must be 0 or from 10 to 65.535 \(got 5\); using 60$/,
  ]);
  t.equal(problems.length, 8);
});

t.test('a temperature alarm must be above its warning', async (t) => {
  const { options, problems } = resolveOptions({
    notifications: { mcuTempWarn: 90, mcuTempAlarm: 80, pcbTempWarn: 50, pcbTempAlarm: 55 },
  });
  t.same([options.notifications.mcuTempWarn, options.notifications.mcuTempAlarm], [75, 85]);
  t.same([options.notifications.pcbTempWarn, options.notifications.pcbTempAlarm], [50, 55], 'a consistent pair stays');
  t.same(problems, [
    'notifications.mcuTempAlarm: must be above notifications.mcuTempWarn (got 80 and 90); using 75 and 85',
  ]);
});

t.test('a group that is not an object falls back to its defaults', async (t) => {
  const { options, problems } = resolveOptions({ engine: 'fast' });
  t.same(options.engine, DEFAULT_OPTIONS.engine);
  t.same(problems, ['engine: must be an object (got "fast"); using the defaults']);
});

t.test('the effective stale timeout is at least three poll intervals', async (t) => {
  t.equal(staleTimeoutMs({ ...DEFAULT_OPTIONS, staleTimeout: 5, pollInterval: 1000 }), 5000);
  t.equal(staleTimeoutMs({ ...DEFAULT_OPTIONS, staleTimeout: 5, pollInterval: 4000 }), 12_000);
});

t.test(
  'the NUT server runs only when switched on; a configuration from before the switch keeps its server',
  async (t) => {
    t.equal(
      resolveOptions({ nut: { listen: '3493' } }).options.nut.enabled,
      true,
      'an address and no switch: on, as before',
    );
    t.equal(
      resolveOptions({ nut: { enabled: false, listen: '3493' } }).options.nut.enabled,
      false,
      'switched off stays off',
    );
    t.equal(resolveOptions({ nut: { listen: '' } }).options.nut.enabled, false);
    const { options, problems } = resolveOptions({ nut: { enabled: true } });
    t.equal(options.nut.enabled, false, 'on without an address: off');
    t.same(problems, ['nut.listen: needed when the NUT server is on; the NUT server stays off']);
  },
);

t.test('the Admin UI schema: nothing required, the mode a select with labels, NUT fields only when on', async (t) => {
  const s = adminSchema();
  const text = JSON.stringify(s);
  t.notMatch(text, /"required"/, 'no required list anywhere: the form saves with its defaults');
  const props = s.properties as Record<string, any>;
  t.same(props.mode, {
    ...props.mode,
    type: 'string',
    enum: ['auto', 'client', 'engine', 'simulator'],
    enumNames: Object.values(MODES),
  });
  t.notOk('anyOf' in props.mode);
  t.same(uiSchema.mode['ui:enumNames'], Object.values(MODES));
  t.same(Object.keys(props.nut.properties), ['enabled'], 'only the switch until NUT is on');
  const [off, on] = props.nut.dependencies.enabled.oneOf;
  t.same(off.properties, { enabled: { const: false } });
  t.same(Object.keys(on.properties), ['enabled', 'listen', 'user', 'password']);
  t.same(Object.keys(props), Object.keys(optionsSchema.properties), 'every option is in the form');
  // The code's schema is untouched by the copy.
  t.ok((optionsSchema as unknown as { required: string[] }).required.includes('mode'));
  t.ok(Value.Check(optionsSchema, DEFAULT_OPTIONS));
});

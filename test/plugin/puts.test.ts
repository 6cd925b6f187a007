// The PUT handlers (plugin/puts.ts): which are registered, each value rule, what reaches the
// source, and how a source's failure becomes the PUT's status.
import t from 'tap';
import { resolveOptions } from '../../plugin/options.js';
import { putHandlers } from '../../plugin/puts.js';
import { ActionError, type Source } from '../../plugin/source.js';

const P = 'electrical.halpi';

function rig(control: Record<string, boolean> = { power: true }, fail?: ActionError | Error, connected = true) {
  const calls: unknown[][] = [];
  let refreshed = 0;
  const act = (...c: unknown[]) => {
    calls.push(c);
    return fail ? Promise.reject(fail) : Promise.resolve();
  };
  const source = {
    setUsb: (n: number, on: boolean) => act('usb', n, on),
    setConfig: (k: string, v: unknown) => act('config', k, v),
    shutdown: () => act('shutdown'),
    standby: (r: unknown) => act('standby', r),
  } as unknown as Source;
  const { options } = resolveOptions({ control });
  const handlers = new Map(
    putHandlers(
      options,
      () => (connected ? source : null),
      async () => {
        refreshed++;
      },
    ).map((h) => [h.path, h.handler]),
  );
  const put = (leaf: string, value: unknown) => handlers.get(`${P}.${leaf}`)!('vessels.self', `${P}.${leaf}`, value);
  return { calls, handlers, put, refreshed: () => refreshed };
}

t.test('the control options decide which handlers exist', async (t) => {
  t.equal(rig({}).handlers.size, 10, 'USB and configuration by default');
  t.notOk(rig({}).handlers.has(`${P}.commands.shutdown`));
  t.equal(rig({ power: true }).handlers.size, 12);
  t.equal(rig({ usb: false, config: false, power: false }).handlers.size, 0);
});

t.test('good values reach the source in its terms, then the paths are read again', async (t) => {
  const r = rig();
  const ok = { state: 'COMPLETED', statusCode: 200 };
  t.same(await r.put('usb.port3', false), ok);
  t.same(await r.put('watchdog.timeout', 0), ok);
  t.same(await r.put('watchdog.timeout', 10), ok);
  t.same(await r.put('watchdog.timeout', 65.535), ok);
  t.same(await r.put('config.powerOnThreshold', 8.5), ok);
  t.same(await r.put('config.soloPowerOffThreshold', 4.5), ok);
  t.same(await r.put('config.ledBrightness', 1), ok);
  t.same(await r.put('config.ledBrightness', 0), ok, 'the LED off');
  t.same(await r.put('config.autoRestart', true), ok);
  t.same(await r.put('config.soloDepletingTimeout', 60), ok);
  t.same(await r.put('commands.shutdown', { confirm: 'shutdown' }), ok);
  t.same(await r.put('commands.standby', { confirm: 'standby', delay: 3600 }), ok);
  t.same(await r.put('commands.standby', { confirm: 'standby', delay: 0 }), ok, 'standby at once');
  const future = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  t.same(await r.put('commands.standby', { confirm: 'standby', datetime: future }), ok);
  t.same(r.calls, [
    ['usb', 3, false],
    ['config', 'watchdog_timeout', 0],
    ['config', 'watchdog_timeout', 10],
    ['config', 'watchdog_timeout', 65.535],
    ['config', 'power_on_threshold', 8.5],
    ['config', 'solo_power_off_threshold', 4.5],
    ['config', 'led_brightness', 255],
    ['config', 'led_brightness', 0],
    ['config', 'auto_restart', true],
    ['config', 'solo_depleting_timeout', 60],
    ['shutdown'],
    ['standby', { delay: 3600 }],
    ['standby', { delay: 0 }],
    ['standby', { datetime: future }],
  ]);
  t.equal(r.refreshed(), 14, 'each success re-reads');
});

t.test('bad values: 400 with the rule, and nothing reaches the source', async (t) => {
  const r = rig();
  const cases: Array<[string, unknown, string]> = [
    ['usb.port0', 1, 'true or false'],
    ['watchdog.timeout', 5, '0 (off) or a number from 10 to 65.535 s'],
    ['watchdog.timeout', 70, '0 (off) or a number from 10 to 65.535 s'],
    ['config.powerOnThreshold', 4.9, 'a number from 5 to 10 V'],
    ['config.soloPowerOffThreshold', '5', 'a number from 4.5 to 10 V'],
    ['config.ledBrightness', 1.5, 'a ratio from 0 to 1'],
    ['config.ledBrightness', -0.5, 'a ratio from 0 to 1'],
    ['config.ledBrightness', '0.5', 'a ratio from 0 to 1'],
    ['config.ledBrightness', null, 'a ratio from 0 to 1'],
    ['config.autoRestart', 'yes', 'true or false'],
    ['config.soloDepletingTimeout', -1, 'a number from 0 to 60 s'],
    ['commands.shutdown', { confirm: 'shutdown', now: true }, '{"confirm":"shutdown"}'],
    ['commands.shutdown', { confirm: 'yes' }, '{"confirm":"shutdown"}'],
    ['commands.shutdown', null, '{"confirm":"shutdown"}'],
    ['commands.standby', null, '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}'],
    [
      'commands.standby',
      { confirm: 'standby', delay: '60' },
      '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}',
    ],
    [
      'commands.standby',
      { confirm: 'standby', datetime: 1767225600 },
      '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}',
    ],
    [
      'commands.standby',
      { confirm: 'standby', datetime: '2030-01-01T00:00:00Z', delay: 60 },
      '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}',
    ],
    [
      'commands.standby',
      { delay: 60 },
      '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}',
    ],
    [
      'commands.standby',
      { confirm: 'standby', delay: -5 },
      '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}',
    ],
    [
      'commands.standby',
      { confirm: 'standby', delay: 60, datetime: '2030-01-01T00:00:00Z' },
      '{"confirm":"standby","delay":<seconds>} or {"confirm":"standby","datetime":"<time>"}',
    ],
  ];
  for (const [leaf, value, rule] of cases) {
    t.same(
      await r.put(leaf, value),
      { state: 'COMPLETED', statusCode: 400, message: `${P}.${leaf} must be ${rule}` },
      `${leaf} ${JSON.stringify(value)}`,
    );
  }
  t.match(await r.put('commands.standby', { confirm: 'standby', datetime: 'soon' }), {
    statusCode: 400,
    message:
      'electrical.halpi.commands.standby must be a date and time such as "2025-11-08T12:00:00Z" or "2025-11-08 12:00:00", or in the forms of halpi standby (got "soon")',
  });
  t.same(r.calls, []);
  t.equal(r.refreshed(), 0);
});

t.test('before the plugin has a source: 503, and a bad value is still a 400', async (t) => {
  const r = rig({ power: true }, undefined, false);
  t.same(await r.put('usb.port0', true), {
    state: 'COMPLETED',
    statusCode: 503,
    message: 'The HALPI2 plugin is not connected yet',
  });
  t.same(await r.put('commands.shutdown', { confirm: 'shutdown' }), {
    state: 'COMPLETED',
    statusCode: 503,
    message: 'The HALPI2 plugin is not connected yet',
  });
  t.equal((await r.put('usb.port0', 'on')).statusCode, 400);
  t.equal(r.refreshed(), 0);
});

t.test('failures of the source: its status and message', async (t) => {
  for (const err of [
    new ActionError(502, 'Failed to write to register 0x1A'),
    new ActionError(503, 'halpid not reachable at /x: no socket'),
    new ActionError(504, 'No answer from halpid within 5 s'),
  ]) {
    t.same(await rig({}, err).put('usb.port0', true), {
      state: 'COMPLETED',
      statusCode: err.statusCode,
      message: err.message,
    });
  }
  t.same(await rig({}, new Error('surprise')).put('usb.port0', true), {
    state: 'COMPLETED',
    statusCode: 502,
    message: 'surprise',
  });
});

// The blackout decision against bad readings (docs/blackout.md), on a scripted port and a FakeClock:
// every tick's V_in and the controller's power state come from the test, so each rule is pinned
// down tick by tick.
import t from 'tap';
import {
  RESUME_CONFIRM_MS,
  SHUTDOWN_REQUEST_BOUND_MS,
  TICK_MS,
  VIN_FULL_SCALE_V,
  type DaemonState,
} from '../../engine/supervisor.js';
import { scripted } from '../helpers/scripted-supervisor.js';

// The power is cut at 1000 ms: ticks from 1000 on read 0 V (the controller forces VIN to 0).
const cutAt =
  (ms: number) =>
  (t: number): number =>
    t >= ms ? 0 : 12;

/** A gate the test opens when it chooses: what awaits `gate` waits until `release()`. */
function latch() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { gate, release };
}

t.test(
  'fault-free: detection on the first low tick, shutdown at the limit itself, on a reading taken then',
  async (t) => {
    const s = scripted({ vin: cutAt(1000) });
    await s.run(8000);
    t.equal(s.at('BLACKOUT'), 1000, 'the first tick that reads the low voltage');
    t.equal(s.at('SHUTDOWN')! - s.at('BLACKOUT')!, 5001, 'the deadline timer, 1 ms past the limit, not the next tick');
    t.same(s.poweroffs, [s.at('SHUTDOWN')]);
    t.equal(s.controllerReads(), 0, 'a blackout with no high readings never asks the controller');
  },
);

t.test('a full-scale (corrupted) V_in is a read error, not "power resumed"', async (t) => {
  const corrupt = new Set([2000, 2100, 2300, 3000, 4500, 6000, 6100]);
  const s = scripted({ vin: (ms) => (corrupt.has(ms) ? VIN_FULL_SCALE_V : cutAt(1000)(ms)) });
  await s.run(8000);
  t.same(
    s.events.map((e) => e.phase),
    ['start', 'shutdown'],
    'no blackout end',
  );
  t.equal(s.at('SHUTDOWN')! - s.at('BLACKOUT')!, 5001, 'the shutdown is not postponed');
  t.ok(s.logs.includes('State machine error: Implausible input voltage reading (40.00V, full scale)'));
});

t.test('a full-scale reading outside a blackout is an error, not a blackout', async (t) => {
  const s = scripted({ vin: (ms) => (ms === 500 ? VIN_FULL_SCALE_V : 12) });
  await s.run(2000);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK'],
  );
  t.equal(s.sup.pollErrorsTotal, 1);
});

t.test(
  'an isolated plausible high reading during a blackout neither ends it nor postpones the shutdown by more than two ticks',
  async (t) => {
    for (const glitch of [3000, 5900, 6000, 6100, 6200]) {
      const s = scripted({ vin: (ms) => (ms === glitch ? 12.5 : cutAt(1000)(ms)) });
      await s.run(9000);
      t.same(
        s.events.map((e) => e.phase),
        ['start', 'shutdown'],
        `glitch at ${glitch}: no blackout end`,
      );
      const d = s.at('SHUTDOWN')! - s.at('BLACKOUT')!;
      // The limit passes 5001 ms after detection; a high reading just before needs two lows to be overruled.
      t.ok(d >= 5001 && d <= 5001 + 2 * TICK_MS, `glitch at ${glitch}: shutdown ${d} ms after detection`);
    }
  },
);

t.test(
  'an isolated low reading outside a blackout starts one, which ends after the confirmation, with no shutdown',
  async (t) => {
    const s = scripted({ vin: (ms) => (ms === 2000 ? 0 : 12), limitS: 0.2 });
    await s.run(4000);
    t.same(
      s.transitions.map((x) => x.to),
      ['OK', 'BLACKOUT', 'OK'],
      'even with a 0.2 s limit, no SHUTDOWN',
    );
    t.same(s.poweroffs, []);
    const end = s.events.find((e) => e.phase === 'end')!;
    t.equal(end.t - 2100, RESUME_CONFIRM_MS, 'power counts as resumed once it has held for the confirmation time');
  },
);

t.test('an isolated low reading inside a real recovery does not start the shutdown', async (t) => {
  // Power returns at 5900; a glitch reads 0 at 6200, past the 6100 limit tick.
  const s = scripted({ vin: (ms) => (ms >= 1000 && (ms < 5900 || ms === 6200) ? 0 : 12) });
  await s.run(8000);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK', 'BLACKOUT', 'OK'],
  );
  t.same(s.poweroffs, []);
});

t.test('two low readings in a row after a high one end the confirmation: the shutdown follows', async (t) => {
  const s = scripted({ vin: (ms) => (ms === 6000 ? 12 : cutAt(1000)(ms)) });
  await s.run(8000);
  t.equal(
    s.at('SHUTDOWN'),
    6100,
    "high at 6000, lows at 6001 (the deadline's own reading) and 6100 → shut down on the second",
  );
});

t.test('power returning at the very moment the limit passes goes back to OK', async (t) => {
  const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 6001 ? 0 : 12) });
  await s.run(8000);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK', 'BLACKOUT', 'OK'],
  );
  t.same(s.poweroffs, []);
  t.same(
    s.events.map((e) => e.phase),
    ['start', 'end'],
  );
});

t.test('the controller vetoes "power resumed" while it still runs the Pi on the supercap', async (t) => {
  // V_in reads 9.5 V from 3000 (above a 9.0 V limit), but the controller still reports BlackoutCoOp.
  const s = scripted({
    vin: (ms) => (ms >= 1000 && ms < 3000 ? 0 : ms >= 3000 ? 9.5 : 12),
    controller: () => 'BlackoutCoOp',
  });
  await s.run(8000);
  t.same(
    s.events.map((e) => e.phase),
    ['start', 'shutdown'],
  );
  t.equal(s.at('SHUTDOWN')! - s.at('BLACKOUT')!, 5001, 'the veto does not postpone the shutdown');
});

t.test('every controller state in which the Pi runs on the supercap is a veto; the others are not', async (t) => {
  const vin = (ms: number) => (ms >= 1000 && ms < 2000 ? 0 : 12);
  for (const state of ['BlackoutSolo', 'BlackoutCoOp', 'BlackoutShutdown', 'PoweredDownBlackout'] as const) {
    const s = scripted({ vin, controller: () => state });
    await s.run(8000);
    t.same(
      s.events.map((e) => e.phase),
      ['start', 'shutdown'],
      `${state}: vetoed`,
    );
  }
  for (const state of ['OperationalCoOp', 'OperationalSolo', 'HostUnresponsive', 'ManualShutdown'] as const) {
    const s = scripted({ vin, controller: () => state });
    await s.run(8000);
    t.same(
      s.events.map((e) => e.phase),
      ['start', 'end'],
      `${state}: no veto`,
    );
  }
});

t.test('the blackout end reports how long it lasted, confirmation included', async (t) => {
  const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 2500 ? 0 : 12) });
  await s.run(4000);
  const end = s.events.find((e) => e.phase === 'end')!;
  t.equal(end.t, 2500 + RESUME_CONFIRM_MS);
  t.equal(
    (end as { duration: number }).duration,
    (2500 + RESUME_CONFIRM_MS - 1000) / 1000,
    'from detection to the end',
  );
  t.equal(s.sup.blackoutSecondsTotal, (2500 + RESUME_CONFIRM_MS - 1000) / 1000, 'counted in the total');
  t.equal(s.sup.blackoutsTotal, 1);
  t.ok(s.logs.includes('Power resumed (V_in = 12.00V)'));
  t.ok(s.logs.includes('Detected blackout (V_in = 0.00V < 9.00V)'));
});

t.test('the controller agreeing late still ends the blackout', async (t) => {
  const s = scripted({
    vin: (ms) => (ms >= 1000 && ms < 2000 ? 0 : 12),
    controller: (ms) => (ms < 2600 ? 'BlackoutCoOp' : 'OperationalCoOp'),
  });
  await s.run(5000);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK', 'BLACKOUT', 'OK'],
  );
  t.equal(s.events.find((e) => e.phase === 'end')!.t, 2600);
});

t.test('an unreadable controller state is no veto: V_in decides alone', async (t) => {
  const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 2000 ? 0 : 12), controller: () => null });
  await s.run(5000);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK', 'BLACKOUT', 'OK'],
  );
  t.equal(s.events.find((e) => e.phase === 'end')!.t, 2000 + RESUME_CONFIRM_MS);
});

t.test('read errors through the limit do not hold the shutdown back', async (t) => {
  const s = scripted({ vin: (ms) => (ms >= 3000 ? 'error' : cutAt(1000)(ms)) });
  await s.run(8000);
  t.equal(s.at('SHUTDOWN')! - s.at('BLACKOUT')!, 5001);
  t.equal(s.sup.pollErrorsTotal, 32, "each failed read (3000 … 6000, and the deadline's at 6001) counted");
  t.ok(s.sup.pollErrorsTotal >= 32, `each failed read counted (${s.sup.pollErrorsTotal})`);
  t.ok(s.logs.includes('State machine error: Failed to read from register 0x20'));
  t.ok(
    s.logs.filter((l) => l.startsWith('State machine error')).length <= 2,
    'a repeating failure is not logged every tick',
  );
});

t.test('the limit is compared in float32, strictly: within half a float32 step is equal', async (t) => {
  const reading = Math.fround(11.99951171875);
  const ulp = 2 ** -20; // float32 spacing between 8 and 16
  for (const [limit, blackout] of [
    [reading + 0.4 * ulp, false],
    [reading + ulp, true],
    [reading - 0.4 * ulp, false],
  ] as const) {
    const s = scripted({ vin: () => reading });
    s.sup.settings.blackoutVoltageLimitV = limit;
    await s.run(300);
    t.equal(
      s.sup.state,
      blackout ? 'BLACKOUT' : 'OK',
      `limit reading${limit > reading ? '+' : ''}${(limit - reading) / ulp} ulp`,
    );
  }
});

t.test('a restart during a tick in flight: the tick abandons itself instead of acting on the old state', async (t) => {
  // Each case: the state the tick starts in, the V_in script, how far to walk before the gated tick.
  const cases: Array<{ from: DaemonState; why: string; vin: (ms: number) => number; walk: number }> = [
    { from: 'START', why: 'its arm write went to the old controller', vin: () => 12, walk: -1 },
    { from: 'OK', why: 'it would start a blackout seen by the old life', vin: cutAt(1000), walk: 900 },
    { from: 'BLACKOUT', why: 'past the limit, it would shut the new host down', vin: cutAt(1000), walk: 5900 },
    {
      from: 'BLACKOUT',
      why: 'it would end a blackout the restart already closed',
      vin: (ms) => (ms >= 1000 && ms < 5500 ? 0 : 12),
      walk: 5700,
    },
  ];
  for (const c of cases) {
    const s = scripted({ vin: c.vin });
    if (c.walk >= 0) await s.run(c.walk);
    t.equal(s.sup.state, c.from, `walked to ${c.from}`);
    // Every bus call of the next tick waits until the test lets it go.
    const { gate, release } = latch();
    const port = s.port;
    for (const key of ['readVin', 'readBlackout', 'armWatchdog', 'requestShutdown', 'readControllerState'] as const) {
      const real = port[key] as (...a: unknown[]) => Promise<unknown>;
      (port as unknown as Record<string, unknown>)[key] = async (...a: unknown[]) => {
        await gate;
        return real(...a);
      };
    }
    const before = { poweroffs: s.poweroffs.length, events: s.events.length, logs: s.logs.length };
    const tick = s.sup.tick();
    await s.clock.advance(TICK_MS);
    s.sup.restart();
    release();
    await tick;
    t.equal(s.sup.state, 'START', `${c.from}: still START after the tick (${c.why})`);
    t.equal(s.poweroffs.length, before.poweroffs, `${c.from}: no poweroff`);
    t.same(s.events.slice(before.events), [], `${c.from}: no blackout event from the old life`);
    t.notOk(
      s.logs
        .slice(before.logs)
        .some((l) => /Power resumed|Detected blackout|initiating shutdown|State transition: START -> OK/.test(l)),
      `${c.from}: nothing logged for the old state`,
    );
  }
});

t.test(
  'a failing shutdown request (0x30) never holds the poweroff: it runs at once, the failure is an error line',
  async (t) => {
    const s = scripted({ vin: cutAt(1000), requestFailures: Infinity });
    await s.run(17_000);
    const shutdown = s.at('SHUTDOWN')!;
    t.same(s.poweroffs, [shutdown], 'the poweroff command starts with the shutdown');
    t.equal(s.at('DEAD'), shutdown);
    t.ok(s.requests() > 1, `the request is made alongside, and retried (${s.requests()} times)`);
    t.equal(s.logs.filter((l) => l.startsWith('Cannot request the shutdown')).length, 1, 'the failure is said once');
    t.ok(
      s.logs.includes('The controller has not taken the shutdown request within 10s; the poweroff goes on without it'),
      'and the giving up',
    );
    t.ok(
      s.logs.includes(
        'Cannot request the shutdown from the controller (Failed to write to register 0x30); the poweroff goes on without it',
      ),
    );
  },
);

t.test('a shutdown request that hangs is reported after its bound; the poweroff did not wait for it', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  s.port.requestShutdown = () => new Promise(() => {});
  await s.run(6500);
  t.same(s.poweroffs, [s.at('SHUTDOWN')]);
  t.notOk(
    s.logs.some((l) => l.includes('has not taken the shutdown request')),
    'nothing said before the bound',
  );
  await s.clock.advance(SHUTDOWN_REQUEST_BOUND_MS);
  t.ok(
    s.logs.includes('The controller has not taken the shutdown request within 10s; the poweroff goes on without it'),
  );
});

t.test('an implausible reading is reported as such to the engine (its error event)', async (t) => {
  const s = scripted({ vin: (ms) => (ms === 500 ? VIN_FULL_SCALE_V : 12) });
  await s.run(1000);
  t.equal(s.failures.length, 1);
  t.equal(s.failures[0]!.name, 'ImplausibleReadingError');
});

t.test('a V_in answered at once (the simulator) is decided within the tick: no promise', async (t) => {
  const s = scripted({ vin: cutAt(1000), readNow: true });
  await s.run(900);
  t.equal(s.sup.tick(), undefined, 'an OK tick whose reading came at once returns nothing to wait for');
  t.equal(s.sup.state, 'BLACKOUT', 'the low reading started the blackout within the call');
  t.same(
    s.events.map((e) => [e.phase, e.t]),
    [['start', 1000]],
  );
  await s.run(8000);
  t.equal(s.at('SHUTDOWN')! - s.at('BLACKOUT')!, 5001, 'and the limit is kept as on a bus that waits');
});

t.test(
  'a reading answered at once that is implausible or fails is an error, logged once until a good one',
  async (t) => {
    const bad = new Map<number, number | 'error'>([
      [500, VIN_FULL_SCALE_V],
      [600, VIN_FULL_SCALE_V],
      [800, VIN_FULL_SCALE_V],
      [1200, 'error'],
    ]);
    const s = scripted({ vin: (ms) => bad.get(ms) ?? 12, readNow: true });
    await s.run(1500);
    t.same(
      s.transitions.map((x) => x.to),
      ['OK'],
      'no blackout',
    );
    t.equal(s.sup.pollErrorsTotal, 4);
    t.same(
      s.failures.map((e) => e.name),
      ['ImplausibleReadingError', 'ImplausibleReadingError', 'ImplausibleReadingError', 'Error'],
    );
    t.same(
      s.logs.filter((l) => l.startsWith('State machine error')),
      [
        'State machine error: Implausible input voltage reading (40.00V, full scale)',
        'State machine error: Implausible input voltage reading (40.00V, full scale)',
        'State machine error: Failed to read from register 0x20',
      ],
      'the second in a row is not news; the good reading at 700 makes the same failure at 800 news again',
    );
  },
);

t.test('the blackout seconds include a blackout in progress', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  await s.run(3000);
  t.equal(s.sup.state, 'BLACKOUT');
  t.equal(s.sup.blackoutSecondsTotal, (s.clock.now() - 1000) / 1000);
});

t.test('the shutdown event says how long the blackout lasted', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  await s.run(8000);
  t.match(
    s.events.find((e) => e.phase === 'shutdown'),
    { phase: 'shutdown', duration: 5.001 },
  );
});

t.test('"Initializing watchdog" once while the arm write keeps failing, then OK', async (t) => {
  const s = scripted({ vin: () => 12, armFailures: 3 });
  await s.run(1000);
  t.same(s.logs.slice(0, 3), [
    'Initializing watchdog',
    'State machine error: Failed to write to register 0x12',
    'State transition: START -> OK',
  ]);
  t.equal(s.logs.filter((l) => l === 'Initializing watchdog').length, 1, 'not once a tick');
  t.notOk(
    s.logs.some((l) => l === 'null' || l === 'undefined'),
    'nothing empty logged',
  );
});

t.test('a failure logged once is logged again after a good tick, in BLACKOUT and after it ends', async (t) => {
  const errs = new Set([1500, 1700, 3000]);
  const s = scripted({ vin: (ms) => (errs.has(ms) ? 'error' : ms >= 1000 && ms < 2000 ? 0 : 12) });
  await s.run(3500);
  const lines = s.logs.filter((l) => l === 'State machine error: Failed to read from register 0x20');
  t.equal(
    lines.length,
    3,
    'a fresh failure after a good tick is news (1500, 1700 in BLACKOUT; 3000 in OK after the end)',
  );
  t.same(
    s.transitions.map((x) => x.to),
    ['OK', 'BLACKOUT', 'OK'],
  );
});

t.test('a failing tick of an old life is not counted after a restart', async (t) => {
  const { gate, release } = latch();
  const s = scripted({ vin: () => 12 });
  await s.run(300);
  s.port.readVin = async () => {
    await gate;
    throw new Error('Failed to read from register 0x20');
  };
  const tick = s.sup.tick();
  s.sup.restart();
  release();
  await tick;
  t.equal(s.sup.pollErrorsTotal, 0);
  t.same(s.failures, []);
  t.notOk(s.logs.some((l) => l.startsWith('State machine error')));
});

t.test('a blackout tick of an old life that fails once the new life is in a blackout too: not counted', async (t) => {
  const s = scripted({ vin: cutAt(1000) });
  await s.run(1500);
  t.equal(s.sup.state, 'BLACKOUT', 'in a blackout');
  const { gate, release } = latch();
  const read = s.port.readBlackout;
  let held = true;
  s.port.readBlackout = async () => {
    if (!held) return read();
    held = false; // only the old life's read hangs, then fails
    await gate;
    throw new Error('Failed to read from register 0x20');
  };
  const tick = s.sup.tick();
  s.sup.restart();
  await s.run(s.clock.now() + 500); // the power is still out: START, OK, then a blackout of its own
  t.equal(s.sup.state, 'BLACKOUT', 'the new life is in a blackout too');
  const logs = s.logs.length;
  release();
  await tick;
  t.equal(s.sup.pollErrorsTotal, 0, 'the old read is not counted');
  t.same(s.failures, []);
  t.same(s.logs.slice(logs), [], 'nothing logged for it');
  t.equal(s.sup.state, 'BLACKOUT');
});

t.test('a restart while the controller state is being read: no "power resumed" for the old life', async (t) => {
  const s = scripted({ vin: (ms) => (ms >= 1000 && ms < 2000 ? 0 : 12) });
  await s.run(2200); // highs at 2000, 2100, 2200: the next tick asks the controller
  const { gate, release } = latch();
  const read = s.port.readControllerState;
  s.port.readControllerState = async () => {
    await gate;
    return read();
  };
  const tick = s.sup.tick();
  await s.clock.advance(0);
  s.sup.restart();
  release();
  await tick;
  t.equal(s.sup.state, 'START');
  t.same(
    s.events.map((e) => e.phase),
    ['start'],
    'no end event',
  );
  t.notOk(s.logs.some((l) => l.startsWith('Power resumed')));
});

t.test(
  'a controller read of an old life that answers once the new life is in a blackout: it ends nothing',
  async (t) => {
    // A first blackout 1000–2000, the power back until 2400, then out again for good.
    const s = scripted({ vin: (ms) => ((ms >= 1000 && ms < 2000) || ms >= 2400 ? 0 : 12) });
    await s.run(2200); // highs at 2000, 2100, 2200: the next tick asks the controller
    const { gate, release } = latch();
    const read = s.port.readControllerState;
    let held = true;
    s.port.readControllerState = async () => {
      if (held) {
        held = false; // only the old life's read hangs
        await gate;
      }
      return read();
    };
    const tick = s.sup.tick();
    await s.clock.advance(0);
    t.notOk(held, 'the tick at 2300 asks the controller');
    s.sup.restart();
    await s.run(s.clock.now() + 500); // the new life: START, OK, and from 2400 a blackout of its own
    t.equal(s.sup.state, 'BLACKOUT', 'the new life is in a blackout');
    const events = s.events.length;
    release(); // the controller says Operational: true of the old life's power, not of the new
    await tick;
    t.equal(s.sup.state, 'BLACKOUT', 'still in the blackout');
    t.same(s.events.slice(events), [], 'no end event');
    t.notOk(s.logs.some((l) => l.startsWith('Power resumed')));
  },
);

t.test(
  'two blackouts: a veto in the first does not carry over, so the second may still end at its limit',
  async (t) => {
    // The first (1000–2000): the controller vetoes the return until 3000, then the blackout ends.
    // The second (from 10000): the power returns just as its limit passes, which the daemon
    // confirms (as in the test above) unless it still remembers the first one's veto.
    const s = scripted({
      vin: (ms) => ((ms >= 1000 && ms < 2000) || (ms >= 10_000 && ms < 15_001) ? 0 : 12),
      controller: (ms) => (ms < 3000 ? 'BlackoutCoOp' : 'OperationalCoOp'),
    });
    await s.run(18_000);
    t.same(
      s.transitions.map((x) => x.to),
      ['OK', 'BLACKOUT', 'OK', 'BLACKOUT', 'OK'],
    );
    t.same(
      s.events.map((e) => e.phase),
      ['start', 'end', 'start', 'end'],
    );
    t.equal(s.events[1]!.t, 3000, 'the first ended when the controller stopped vetoing');
    t.same(s.poweroffs, [], 'no shutdown');
    t.equal(s.sup.blackoutsTotal, 2);
    const end = s.events[3] as { t: number; duration: number };
    t.equal(end.duration, (end.t - 10_000) / 1000, 'the second lasted from its own start');
  },
);

t.test(
  'two blackouts: the confirmation of the first is forgotten, so one high reading cannot end the second',
  async (t) => {
    // The first (1000–2000) ends once 12 V has held from 2000 to 2300. The second starts at 5000;
    // its first BLACKOUT tick (5100) reads a lone 12 V, which only starts a confirmation of its own.
    const s = scripted({ vin: (ms) => ((ms >= 1000 && ms < 2000) || (ms >= 5000 && ms !== 5100) ? 0 : 12) });
    await s.run(12_000);
    t.same(
      s.events.map((e) => e.phase),
      ['start', 'end', 'start', 'shutdown'],
    );
    t.equal(s.at('DEAD'), 10_001, 'the second shuts down at its limit');
    t.equal(s.controllerReads(), 1, 'the controller asked only when the first ended');
  },
);

t.test('a restart during a read that shows a low supercap: the old life does not shut the new host down', async (t) => {
  const s = scripted({ vin: cutAt(1000), vcap: (ms) => (ms >= 2000 ? 6.0 : 9.0), limitS: 60 });
  await s.run(1900);
  t.equal(s.sup.state, 'BLACKOUT');
  const { gate, release } = latch();
  const read = s.port.readBlackout;
  s.port.readBlackout = async () => {
    await gate;
    return read();
  };
  const tick = s.sup.tick();
  await s.clock.advance(TICK_MS); // the read answers at 2000: V_cap 6 V, far under the reserve
  s.sup.restart();
  release();
  await tick;
  t.equal(s.sup.state, 'START');
  t.same(s.poweroffs, [], 'no poweroff');
  t.notOk(s.logs.some((l) => l.startsWith('Supercap at')));
});

t.test('never two ticks at once, also when a tick of the old life ends after a restart', async (t) => {
  const s = scripted({ vin: () => 12 });
  await s.run(300);
  let releaseOld!: () => void;
  const old = new Promise<void>((resolve) => {
    releaseOld = resolve;
  });
  s.port.readVin = async () => {
    await old;
    return 12;
  };
  const stale = s.sup.tick();
  s.sup.restart();
  // The new life's START tick: its arm write waits until the test lets it go.
  let active = 0;
  let most = 0;
  let releaseArm!: () => void;
  const arm = new Promise<void>((resolve) => {
    releaseArm = resolve;
  });
  s.port.armWatchdog = async () => {
    most = Math.max(most, ++active);
    await arm;
    active--;
  };
  const first = s.sup.tick();
  releaseOld();
  await stale;
  const second = s.sup.tick(); // the grid's next tick while the START tick still waits
  releaseArm();
  await Promise.all([first, second]);
  t.equal(most, 1, 'one arm write at a time: the second tick joined the first');
  t.equal(s.sup.state, 'OK');
});

t.test('a failure in the tick just before power resumed is logged again at its next occurrence', async (t) => {
  // Power back at 2000; 2200 fails (logged), 2300 confirms the return; 2400 fails again: news.
  const s = scripted({ vin: (ms) => (ms === 2200 || ms === 2400 ? 'error' : ms >= 1000 && ms < 2000 ? 0 : 12) });
  await s.run(3000);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK', 'BLACKOUT', 'OK'],
  );
  t.equal(s.events.find((e) => e.phase === 'end')!.t, 2300);
  t.equal(s.logs.filter((l) => l === 'State machine error: Failed to read from register 0x20').length, 2);
});

t.test('dry-run: a failure after the supercap shutdown is logged again (the shutdown tick was good)', async (t) => {
  const s = scripted({
    vin: (ms) => (ms === 1500 || ms === 1700 ? 'error' : cutAt(1000)(ms)),
    vcap: (ms) => (ms >= 1600 ? 6.0 : 9.0),
    limitS: 60,
  });
  s.sup.settings.dryRun = true;
  await s.run(2000);
  t.equal(s.at('DEAD'), 1600, 'the supercap rule shut down (dry run)');
  t.equal(s.logs.filter((l) => l === 'State machine error: Failed to read from register 0x20').length, 2);
});

t.test('a restart of a daemon still in START announces no transition', async (t) => {
  const s = scripted({ vin: () => 12 });
  s.sup.restart();
  s.sup.restart();
  t.same(s.transitions, []);
  t.notOk(s.logs.some((l) => l.startsWith('State transition')));
  await s.run(0);
  t.same(
    s.transitions.map((x) => x.to),
    ['OK'],
  );
});

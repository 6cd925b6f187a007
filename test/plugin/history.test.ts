// The history under Signal K: simulator mode fills the plugin's buffer from the engine's ticks and
// serves it at /plugins/signalk-halpi2/history in halpid's format, across a plugin restart; client
// mode fills it from what halpid sends.
import t from 'tap';
import { FakeClock } from '../../engine/clock.js';
import { History } from '../../engine/history.js';
import { SimulatedController } from '../../engine/simulator/controller.js';
import { historyFeed } from '../../plugin/history.js';
import { createPlugin } from '../../plugin/plugin.js';
import type { SourceSink } from '../../plugin/source.js';
import { json, startDaemon } from '../helpers/daemon.js';
import { fakeApp } from '../helpers/signalk.js';
import { mount } from '../helpers/plugin-router.js';

t.test("simulator mode: the engine fills the plugin's buffer; a blackout is listed; a restart keeps it", async (t) => {
  const clock = new FakeClock();
  let sim: SimulatedController | undefined;
  const plugin = createPlugin(fakeApp(), {
    clock,
    simulator: () => (sim = new SimulatedController({ clock, start: 'host-running', hostGated: true })),
  });
  const config = { mode: 'simulator', engine: { poweroffCommand: 'true', blackoutTimeLimit: 60 } };
  const get = await mount(t, (router) => plugin.registerWithRouter(router as never));
  t.equal((await get('/plugins/signalk-halpi2/history')).status, 503, 'not running yet');

  plugin.start(config);
  await clock.advance(10_000);
  sim!.setPower(false);
  await clock.advance(3000);
  sim!.setPower(true);
  await clock.advance(3000);
  const r = await get('/plugins/signalk-halpi2/history');
  t.equal(r.status, 200);
  t.equal(r.body.step, 1);
  t.ok(r.body.buckets.t.length >= 15, `${r.body.buckets.t.length} buckets`);
  t.ok(r.body.buckets.blackout.includes(1), 'the blackout is marked');
  t.equal(r.body.blackouts.length, 1);
  t.equal(r.body.blackouts[0].outcome, 'power_returned');

  const stopping = plugin.stop();
  await clock.advance(300);
  await stopping;
  t.equal((await get('/plugins/signalk-halpi2/history')).status, 503, 'stopped');
  plugin.start(config);
  await clock.advance(2000);
  const again = await get('/plugins/signalk-halpi2/history?since=-600');
  t.equal(again.body.blackouts.length, 1, 'a restart of the plugin keeps the history');
  t.ok(again.body.buckets.t.length > r.body.buckets.t.length, 'and goes on filling it');
  t.equal((await get('/plugins/signalk-halpi2/history?step=3')).status, 400);
  t.equal((await get('/plugins/signalk-halpi2/history', 'POST')).status, 405);
  const done = plugin.stop();
  await clock.advance(300);
  await done;
});

t.test("client mode: halpid's values, states and blackouts go into the buffer and on to the publisher", (t) => {
  const clock = new FakeClock();
  const history = new History();
  const seen: string[] = [];
  const sink: SourceSink = {
    snapshot: () => void seen.push('snapshot'),
    change: () => void seen.push('change'),
    blackout: (n) => void seen.push(n.phase),
    poweroffFailed: () => {},
    failure: () => {},
    controller: () => {},
    supply: () => void seen.push('supply'),
  };
  const feed = historyFeed(sink, history, clock);
  feed.snapshot({ V_in: 12.2, V_cap: 10.4, I_in: 0.5, T_mcu: 310, T_pcb: 305, daemon_state: 'OK' });
  feed.blackout({ phase: 'start', time_limit: 5 });
  feed.change({ daemon_state: 'BLACKOUT' });
  feed.snapshot({ V_in: 0.1, V_cap: 9.9, I_in: 0 });
  void clock.advance(2000).then(() => {
    feed.snapshot({ V_in: 0.1, V_cap: 9.5, I_in: 0 });
    feed.blackout({ phase: 'shutdown' });
    t.same(
      seen,
      ['snapshot', 'start', 'change', 'snapshot', 'snapshot', 'shutdown'],
      'everything reaches the publisher',
    );
    const c = history.columns();
    t.same(c.V_in, [6.15, 0.1]);
    t.same(c.blackout, [1, 1]);
    t.same(history.blackouts(), [{ start: Date.UTC(2026, 0, 1), duration: 2, outcome: 'shutdown', min_V_cap: 9.5 }]);
    t.end();
  });
});

t.test("client mode against a real halpid: the plugin fills its own buffer from halpid's stream", async (t) => {
  const d = await startDaemon(['--blackout-time-limit', '30']);
  t.teardown(() => d.stop());
  const plugin = createPlugin(fakeApp());
  t.teardown(() => plugin.stop());
  const get = await mount(t, (router) => plugin.registerWithRouter(router as never));
  plugin.start({ mode: 'client', socketPath: d.socket });
  /** GET the plugin's history until `pred` holds (bounded: 200 tries, 50 ms apart). */
  const until = async (pred: (h: any) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const r = await get('/plugins/signalk-halpi2/history');
      if (r.status === 200 && pred(r.body)) return r.body;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('history condition not reached');
  };
  await until((h) => h.buckets.V_in.filter((v: number | null) => v !== null).length >= 2);
  await d.req('POST', '/sim/power', json({ on: false }));
  await until((h) => h.blackouts.length === 1);
  await d.req('POST', '/sim/power', json({ on: true }));
  const h = await until((x) => x.blackouts[0]?.outcome === 'power_returned');
  t.equal(h.step, 1);
  t.ok(h.buckets.blackout.includes(1), 'the blackout is marked');
  t.ok(
    h.buckets.V_cap.some((v: number | null) => v !== null),
    "V_cap from halpid's values",
  );
});

// The history under Signal K (docs/signalk.md): one buffer per plugin, the same as halpid's
// (engine/history.ts). Engine and simulator modes hand it to the engine, which fills it from its
// ticks; client mode fills it from what halpid sends (values about once a second, states and
// blackouts as they happen). Served at /plugins/signalk-halpi2/history with halpid's format.

import type { ServerResponse } from 'node:http';
import type { Clock } from '../engine/clock.js';
import { historyAnswer } from '../engine/api/history.js';
import type { History } from '../engine/history.js';
import { DAEMON_STATES, type DaemonState } from '../engine/supervisor.js';
import type { RouterLike } from './sim-routes.js';
import type { SourceSink } from './source.js';

const isDaemonState = (s: unknown): s is DaemonState => (DAEMON_STATES as readonly unknown[]).includes(s);
const n = (v: number | undefined): number => (typeof v === 'number' ? v : NaN);

/** A sink that notes what passes through it in `history`, then hands it on. */
export function historyFeed(sink: SourceSink, history: History, clock: Clock): SourceSink {
  const state = (s: unknown): void => {
    if (isDaemonState(s)) history.noteState(clock.now(), clock.wallNow(), s);
  };
  return {
    snapshot(values) {
      const mono = clock.now();
      const wall = clock.wallNow();
      state(values.daemon_state);
      if (typeof values.V_in === 'number') history.noteVin(mono, wall, values.V_in);
      history.noteAux(mono, wall, n(values.V_cap), n(values.I_in), n(values.T_mcu), n(values.T_pcb));
      sink.snapshot(values);
    },
    change(values) {
      state(values.daemon_state);
      sink.change(values);
    },
    blackout(note) {
      if (note.phase === 'start') history.blackoutStarted(clock.now(), clock.wallNow());
      else history.blackoutEnded(clock.now(), note.phase === 'end' ? 'power_returned' : 'shutdown');
      sink.blackout(note);
    },
    poweroffFailed: (reason) => sink.poweroffFailed(reason),
    failure: (reason) => sink.failure(reason),
    controller: (note) => sink.controller(note),
    supply: (s) => sink.supply(s),
  };
}

const send = (res: ServerResponse, status: number, body: string): void => {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
  });
  res.end(body);
};

/** GET /history on the plugin's router (503 while the plugin is stopped). */
export function historyRouter(router: RouterLike, history: () => History | null, clock: Clock): void {
  router.use((req, res, next) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q >= 0 ? url.slice(0, q) : url) !== '/history') return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET,HEAD');
      return send(res, 405, '{"error":"Method not allowed"}');
    }
    const h = history();
    if (!h) return send(res, 503, '{"error":"Plugin is not running"}');
    const answer = historyAnswer(h, clock.wallNow(), new URLSearchParams(q >= 0 ? url.slice(q + 1) : ''));
    if (!answer.ok) return send(res, 400, JSON.stringify({ error: answer.message }));
    send(res, 200, answer.body);
  });
}

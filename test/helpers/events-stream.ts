// halpid's event stream (docs/api.md, GET /events) read by a test: every event parsed, and a wait
// for the one the test needs, bounded (a lost event fails with what was seen).
import { request as httpRequest } from 'node:http';
import type { RunningDaemon } from './daemon.js';

export interface SseEvent {
  id: number;
  event: string;
  data: unknown;
}

/** Open an event stream; collect parsed events until `close` is called. */
export function stream(d: RunningDaemon, path = '/events') {
  const events: SseEvent[] = [];
  let raw = '';
  let status = 0;
  let headers: Record<string, string | string[] | undefined> = {};
  const req = httpRequest({ socketPath: d.socket, path, agent: false, headers: { Host: 'localhost' } }, (res) => {
    status = res.statusCode ?? 0;
    headers = res.headers;
    res.on('data', (c: Buffer) => {
      raw += c.toString();
      let i;
      while ((i = raw.indexOf('\n\n')) >= 0) {
        const block = raw.slice(0, i);
        raw = raw.slice(i + 2);
        const f: Record<string, string> = {};
        for (const line of block.split('\n')) {
          const m = /^(\w+): (.*)$/.exec(line);
          if (m) f[m[1]!] = m[2]!;
        }
        if (f.event) events.push({ id: Number(f.id), event: f.event, data: JSON.parse(f.data!) });
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return {
    events,
    get status() {
      return status;
    },
    get headers() {
      return headers;
    },
    // A bound for a lost event, not a timing: generous for a loaded machine.
    wait: async (pred: () => boolean, ms = 30_000) => {
      const start = Date.now();
      while (!pred()) {
        if (Date.now() - start > ms) throw new Error(`event not seen: ${JSON.stringify(events.map((e) => e.event))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => req.destroy(),
  };
}

/**
 * Wait until the supercap's discharge of the running blackout is measured (a supply event with
 * its power): before that, its first second, the time it carries the computer is reckoned for
 * an assumed 8 W load (docs/blackout.md), not from the supercap.
 */
export async function dischargeMeasured(s: ReturnType<typeof stream>): Promise<void> {
  await s.wait(() =>
    s.events.some(
      (e) =>
        e.event === 'supply' &&
        (e.data as { power: number | null }).power !== null &&
        (e.data as { shutdown_in: number | null }).shutdown_in !== null,
    ),
  );
}

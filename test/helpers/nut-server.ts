// A NUT server (engine/nut/server.ts) on a free loopback port for tests, on a FakeClock: users
// `u` (primary) and `s` (secondary) with password `p`, `ups.status` OL, logs and FSD requests
// collected; `open` gives a client the server has taken into a slot, with the server's side of it.
import type { Socket } from 'node:net';
import { FakeClock } from '../../engine/clock.js';
import type { NutBackend } from '../../engine/nut/protocol.js';
import { createNutServer, type NutServerOptions } from '../../engine/nut/server.js';
import { nutClient } from './nut-client.js';

export type NutTestBackend = Omit<NutBackend, 'clients'>;

export async function serveNut(
  t: { teardown(fn: () => unknown): void },
  backend: Partial<NutTestBackend> = {},
  opts: NutServerOptions = {},
) {
  const clock = new FakeClock();
  const logs: string[] = [];
  const log = (level: string) => (m: string) => logs.push(`${level} ${m}`);
  let fsd = 0;
  const nut = createNutServer(
    {
      version: 'test',
      users: [
        { name: 'u', password: 'p', role: 'primary' },
        { name: 's', password: 'p', role: 'secondary' },
      ],
      variables: () => new Map([['ups.status', 'OL']]),
      forceShutdown: () => {
        fsd++;
      },
      ...backend,
    },
    { clock, logger: { info: log('info'), warn: log('warn'), error: log('error') }, ...opts },
  );
  await new Promise<void>((r) => nut.server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => nut.close());
  const sides = new Map<number, Socket>();
  nut.server.on('connection', (s: Socket) => sides.set(s.remotePort!, s));
  const port = (nut.server.address() as { port: number }).port;
  /** A client whose first `n` lines have been answered (so the server has it in a slot). */
  const open = async (first = 'NETVER\n', n = 1) => {
    const c = nutClient(port);
    c.send(first);
    await c.lines(n);
    return Object.assign(c, { side: sides.get(c.sock.localPort!)! });
  };
  /** A client that sends nothing, once the server has accepted it. */
  const silent = async () => {
    const accepted = new Promise<Socket>((r) => nut.server.once('connection', r));
    const c = nutClient(port);
    return Object.assign(c, { side: await accepted });
  };
  return { nut, clock, logs, port, open, silent, fsd: () => fsd };
}

/** Counts the replies the server writes on its side of a connection: read the count with the function. */
export function countWrites(side: Socket): () => number {
  let writes = 0;
  const write = side.write.bind(side) as (...a: unknown[]) => boolean;
  side.write = ((...a: unknown[]) => {
    writes++;
    return write(...a);
  }) as typeof side.write;
  return () => writes;
}

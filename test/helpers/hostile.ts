// Hostile clients for a soak of halpid's faces (issue 18): each attacker loops until the deadline
// with a bounded number of connections and a bounded rate, counting what it did. The NUT ones are
// here; the web listener's go in WEB_ATTACKERS (same shape, `ctx.webPort`).
import { connect, type Socket } from 'node:net';

export interface SoakContext {
  nutPort: number;
  webPort: number;
  /** Date.now() at which every attacker stops. */
  until: number;
  /** Per attacker: connections opened, and anything else it counts. */
  count: (attacker: string, what: string) => void;
}

export interface Attacker {
  name: string;
  /** Resolves once the attacker has stopped and every socket it opened is closed. */
  run: (ctx: SoakContext) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connection that never throws: resolves `closed` when gone, whatever happened. */
function open(
  port: number,
  ctx: SoakContext,
  name: string,
): { sock: Socket; connected: Promise<boolean>; closed: Promise<void> } {
  const sock = connect({ port, host: '127.0.0.1' });
  ctx.count(name, 'connections');
  sock.on('error', () => ctx.count(name, 'errors'));
  const connected = new Promise<boolean>((r) => {
    sock.once('connect', () => r(true));
    sock.once('close', () => r(false));
  });
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  return { sock, connected, closed };
}

/** `lanes` loops of `once`, each at most `perSecond` times a second, until the deadline. */
function lanes(ctx: SoakContext, n: number, perSecond: number, once: () => Promise<void>): Promise<void> {
  const lane = async () => {
    while (Date.now() < ctx.until) {
      const t0 = Date.now();
      await once();
      await sleep(Math.max(0, 1000 / perSecond - (Date.now() - t0)));
    }
  };
  return Promise.all(Array.from({ length: n }, lane)).then(() => {});
}

/** Hold the socket open until the server closes it or the deadline, then close it. */
async function holdUntilDeadline(c: ReturnType<typeof open>, ctx: SoakContext): Promise<void> {
  const left = ctx.until - Date.now();
  if (left > 0) await Promise.race([c.closed, sleep(left)]);
  c.sock.destroy();
  await c.closed;
}

export const NUT_ATTACKERS: Attacker[] = [
  {
    // Every slot taken and held, reopened as soon as the server lets one go.
    name: 'slot-flood',
    run: (ctx) =>
      lanes(ctx, 24, 20, async () => {
        const c = open(ctx.nutPort, ctx, 'slot-flood');
        await holdUntilDeadline(c, ctx);
      }),
  },
  {
    // Connect and reset (SO_LINGER 0) at once, before or after the server's refusal.
    name: 'resets',
    run: (ctx) =>
      lanes(ctx, 4, 50, async () => {
        const c = open(ctx.nutPort, ctx, 'resets');
        if (await c.connected) c.sock.resetAndDestroy();
        await c.closed;
      }),
  },
  {
    // Pipelined LIST VAR without ever reading a reply.
    name: 'never-reading',
    run: (ctx) =>
      lanes(ctx, 4, 5, async () => {
        const c = open(ctx.nutPort, ctx, 'never-reading');
        if (await c.connected) {
          c.sock.pause();
          const burst = 'LIST VAR halpi2\n'.repeat(4096);
          for (let sent = 0; sent < 8 << 20 && !c.sock.destroyed && Date.now() < ctx.until; sent += burst.length) {
            if (!c.sock.write(burst))
              await Promise.race([
                new Promise((r) => c.sock.once('drain', r)),
                c.closed,
                sleep(ctx.until - Date.now()),
              ]);
          }
          ctx.count('never-reading', 'floods'); // one per connection that sent its requests
        }
        await holdUntilDeadline(c, ctx);
      }),
  },
  {
    // A byte a second, never a whole line.
    name: 'slowloris',
    run: (ctx) =>
      lanes(ctx, 8, 5, async () => {
        const c = open(ctx.nutPort, ctx, 'slowloris');
        if (await c.connected) {
          while (!c.sock.destroyed && Date.now() < ctx.until) {
            c.sock.write('G');
            await Promise.race([c.closed, sleep(1000)]);
          }
        }
        c.sock.destroy();
        await c.closed;
      }),
  },
  {
    // Password guesses as fast as the server answers them.
    name: 'login-flood',
    run: (ctx) => {
      let guess = 0;
      return lanes(ctx, 4, 100, async () => {
        const c = open(ctx.nutPort, ctx, 'login-flood');
        if (await c.connected) c.sock.write(`USERNAME monuser\nPASSWORD guess${guess++}\nLOGIN halpi2\n`);
        c.sock.resume();
        await Promise.race([c.closed, sleep(2000)]);
        c.sock.destroy();
        await c.closed;
      });
    },
  },
  {
    // 1 MB lines, with and without their newline.
    name: 'huge-lines',
    run: (ctx) => {
      let n = 0;
      return lanes(ctx, 2, 5, async () => {
        const c = open(ctx.nutPort, ctx, 'huge-lines');
        if (await c.connected) c.sock.write('A'.repeat(1 << 20) + (n++ % 2 ? '\n' : ''));
        c.sock.resume();
        await Promise.race([c.closed, sleep(2000)]);
        c.sock.destroy();
        await c.closed;
      });
    },
  },
];

/**
 * The web listener's hostile clients (idle connections, slow headers, SSE floods, huge bodies):
 * a hook for the web listener's own hardening, run by the same soak.
 */
export const WEB_ATTACKERS: Attacker[] = [];

/**
 * A well-behaved monitor, as upsmon: logged in before the attack, then GET VAR ups.status every
 * 500 ms. Records every status it read, and whether the server ever dropped it.
 */
export function monitor(port: number, user: string, password: string) {
  const sock = connect({ port, host: '127.0.0.1' });
  const statuses: Array<{ at: number; status: string }> = [];
  let dropped: string | null = null;
  let last = '';
  let buf = '';
  let timer: NodeJS.Timeout | undefined;
  sock.setEncoding('utf8');
  let error = '';
  sock.on('error', (e) => {
    error = e.message;
  });
  sock.on('close', () => {
    dropped ??= `at ${new Date().toISOString()} after "${last}" ${error}`;
    clearInterval(timer);
  });
  let oks = 0;
  const loggedIn = new Promise<boolean>((resolve) => {
    sock.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        last = line;
        const m = /^VAR \S+ ups\.status "(.*)"$/.exec(line);
        if (m) statuses.push({ at: Date.now(), status: m[1]! });
        if (line.startsWith('ERR ACCESS-DENIED')) resolve(false);
        if (line === 'OK' && ++oks === 3) resolve(true); // USERNAME, PASSWORD, LOGIN
      }
    });
    sock.once('close', () => resolve(false));
  });
  sock.on('connect', () => sock.write(`USERNAME ${user}\nPASSWORD ${password}\nLOGIN halpi2\n`));
  return {
    /** True once the third OK (LOGIN) has come. */
    loggedIn: loggedIn.then(async (ok) => {
      if (!ok) return false;
      timer = setInterval(() => sock.write('GET VAR halpi2 ups.status\n'), 500);
      return true;
    }),
    statuses,
    /** Why and when the server closed the connection; null while it has not. */
    dropped: () => dropped,
    stop: () => {
      dropped ??= 'stopped';
      clearInterval(timer);
      sock.destroy();
    },
  };
}

// The upsd TCP side (docs/nut.md): line framing, at most MAX_CLIENTS connections (MAX_ANONYMOUS
// of them not logged in) and MAX_LINE bytes a line (a hostile client is disconnected, never
// buffered without end), connections without a complete command for IDLE_MS closed, failed
// logins rate-limited (auth-budget.ts). The protocol itself is protocol.ts.
//
// Containment: no client can take the process down. Every socket, refused ones included, has an
// 'error' handler before anything is written to it, and so has the listening server; failures are
// counted (halpi_face_errors_total{face="nut"}) and logged once per kind, never thrown.

import { createServer, type Server, type Socket } from 'node:net';
import { parseListenAddress } from '../address.js';
import { RealClock, type Clock, type TimerHandle } from '../clock.js';
import { faceErrors } from '../face-errors.js';
import { silentLogger, type Logger } from '../log.js';
import { AuthBudget } from './auth-budget.js';
import { handle, type NutBackend, type Reply, type Session } from './protocol.js';

export const MAX_CLIENTS = 16;
/** Slots that clients not logged in may hold: the rest stay free for upsmon's logins. */
export const MAX_ANONYMOUS = 12;
export const MAX_LINE = 1024;
/** As upsd: a connection without a complete command for a minute is closed. */
export const IDLE_MS = 60_000;
/** A socket being closed (refused, too long a line, LOGOUT) is destroyed after this at the latest. */
export const CLOSE_GRACE_MS = 1000;
/** Replies waiting for a client that does not read, beyond which it is dropped. */
export const MAX_OUTPUT = 64 * 1024;
/**
 * Commands answered in one turn of the event loop for one client; the rest of what it pipelined
 * waits for the next turn, so that a flood of commands never holds up the supervisor's tick.
 */
export const MAX_BATCH = 32;
/**
 * Commands a client may send in a burst, then CMD_RATE a second: what it pipelined beyond waits
 * (it is not dropped). upsc, upsmon, upsrw and exporters send tens at a time; a client that
 * pipelines without end would otherwise be answered as fast as the kernel takes the replies.
 */
export const CMD_BURST = 200;
export const CMD_RATE = 100;
/**
 * NUT's net-protocol.txt has no error for a full server (upsd leaves the connection waiting in the
 * kernel's backlog). halpid answers this NUT error and closes, so that libupsclient reports
 * "Access denied" at once rather than hang (docs/nut.md).
 */
export const FULL_REPLY = 'ERR ACCESS-DENIED';

export interface NutServer {
  server: Server;
  /** Logged-in clients' addresses. */
  clients(): string[];
  close(): Promise<void>;
  /** The most reply bytes ever waiting in one client's socket buffer (tests, diagnostics). */
  peakOutput(): number;
}

export interface NutServerOptions {
  clock?: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;
  logger?: Logger;
  /** MAX_OUTPUT unless told otherwise (tests). */
  maxOutput?: number;
  /** CMD_BURST and CMD_RATE unless told otherwise (tests of other limits). */
  cmdBurst?: number;
  cmdRate?: number;
}

export function createNutServer(backend: Omit<NutBackend, 'clients'>, opts: NutServerOptions = {}): NutServer {
  const clock = opts.clock ?? new RealClock();
  const logger = opts.logger ?? silentLogger;
  const maxOutput = opts.maxOutput ?? MAX_OUTPUT;
  const [cmdBurst, cmdRate] = [opts.cmdBurst ?? CMD_BURST, opts.cmdRate ?? CMD_RATE];
  let peakOutput = 0;
  /** Each connection: its protocol state and when it last sent a complete command. */
  const conns = new Map<Socket, { session: Session; heard: number }>();
  /** Refused sockets until they are gone: close() destroys them too. */
  const refused = new Set<Socket>();
  const clients = () => [...conns.values()].filter((c) => c.session.loggedIn).map((c) => c.session.address);
  const auth = new AuthBudget(clock);
  const full: NutBackend = { ...backend, clients, authLocked: () => auth.locked() };
  const logged = new Set<string>();
  /** Count a contained failure; log the first of each kind only (a flood must not flood the log). */
  const failure = (kind: string, what: string, err?: Error) => {
    faceErrors.count('nut', kind);
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? err?.message ?? '';
    const key = `${kind} ${code}`;
    if (logged.has(key)) return;
    logged.add(key);
    logger.warn(
      `NUT server: ${what}${code ? ` (${code})` : ''}; further ones are only counted (halpi_face_errors_total{face="nut",kind="${kind}"})`,
    );
  };
  /** End with a last line, then destroy once flushed or after CLOSE_GRACE_MS: nothing lingers. */
  const closeSoon = (sock: Socket, line?: string) => {
    if (sock.destroyed) return;
    const timer = clock.setTimeout(() => sock.destroy(), CLOSE_GRACE_MS);
    sock.once('close', () => clock.clearTimeout(timer));
    sock.resume(); // read and discard what the peer still sends, so its FIN is seen
    const done = () => sock.destroy();
    if (line === undefined) sock.end(done);
    else sock.end(`${line}\n`, done);
  };
  /**
   * Room for one more connection. Clients not logged in hold at most MAX_ANONYMOUS slots; past
   * that (or with every slot taken) the one not logged in that has been quiet longest makes way,
   * as upsd's close_oldest_client does, so that a flood of anonymous connections cannot lock
   * upsmon out. Logged-in clients are never pushed out: with all slots theirs, refuse.
   */
  const makeRoom = (): boolean => {
    const anonymous = [...conns].filter(([, c]) => !c.session.loggedIn);
    if (conns.size < MAX_CLIENTS && anonymous.length < MAX_ANONYMOUS) return true;
    if (anonymous.length === 0) return false;
    const [sock, c] = anonymous.reduce((a, b) => (b[1].heard < a[1].heard ? b : a));
    failure('evicted', `the quietest client not logged in made way for a new one (${c.session.address})`);
    conns.delete(sock);
    sock.destroy();
    return true;
  };
  const server = createServer((sock) => {
    sock.on('error', (err) => failure('socket', 'a client connection failed', err));
    if (!makeRoom()) {
      failure('refused', `a client was refused: all ${MAX_CLIENTS} slots in use by logged-in clients`);
      refused.add(sock);
      sock.on('close', () => refused.delete(sock));
      closeSoon(sock, FULL_REPLY);
      return;
    }
    const session: Session = { address: sock.remoteAddress ?? 'unknown', loggedIn: false, primary: false };
    const conn = { session, heard: clock.now() };
    conns.set(sock, conn);
    sock.setEncoding('utf8');
    // Idle: only complete commands count, so a client dribbling a byte a second is dropped too.
    let idle: TimerHandle | null = null;
    const idleCheck = () => {
      const quiet = clock.now() - conn.heard;
      if (quiet >= IDLE_MS) return void sock.destroy();
      idle = clock.setTimeout(idleCheck, IDLE_MS - quiet);
    };
    idle = clock.setTimeout(idleCheck, IDLE_MS);
    sock.on('close', () => {
      if (conns.get(sock) === conn) conns.delete(sock);
      if (idle) clock.clearTimeout(idle);
      idle = null;
      if (budgetTimer) clock.clearTimeout(budgetTimer);
      if (session.loggedIn) logger.info(`NUT logout: ${session.username} from ${session.address}`);
    });
    // Backpressure: replies are written only as fast as the client reads them. While the socket's
    // buffer is full the socket is paused, so unread requests wait in the kernel, not in memory.
    let buffer = '';
    let blocked = false;
    /** A batch was answered, or the command budget is spent: the rest waits (MAX_BATCH, CMD_RATE). */
    let yielding = false;
    let budget = cmdBurst;
    let budgetAt = clock.now();
    let budgetTimer: TimerHandle | null = null;
    const later = () => {
      budgetTimer = null;
      yielding = false;
      if (sock.destroyed) return;
      if (!blocked) sock.resume();
      pump();
    };
    const pump = () => {
      if (sock.destroyed) return; // data already read may still be emitted after a drop
      let nl: number;
      let batch = 0;
      while (!blocked && (nl = buffer.indexOf('\n')) >= 0) {
        const now = clock.now();
        budget = Math.min(cmdBurst, budget + ((now - budgetAt) * cmdRate) / 1000);
        budgetAt = now;
        if (budget < 1 || batch++ >= MAX_BATCH) {
          yielding = true;
          sock.pause();
          if (budget < 1) budgetTimer = clock.setTimeout(later, Math.ceil(((1 - budget) * 1000) / cmdRate));
          else setImmediate(later);
          return;
        }
        budget -= 1;
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line.length > MAX_LINE) return void closeSoon(sock, 'ERR INVALID-ARGUMENT');
        conn.heard = clock.now();
        const wasLoggedIn = session.loggedIn;
        let reply: Reply;
        try {
          reply = handle(line, session, full);
        } catch (err) {
          failure('handler', 'a command failed', err as Error);
          reply = { lines: ['ERR UNKNOWN'] };
        }
        if (!wasLoggedIn && session.loggedIn) logger.info(`NUT login: ${session.username} from ${session.address}`);
        if (reply.authFailed) {
          // The credentials of a connection cannot change: one wrong guess ends it.
          const line = auth.fail(session.username ?? '', session.address);
          if (line) logger.warn(line);
          return void closeSoon(sock, reply.lines[0]);
        }
        if (reply.lines.length && !sock.write(`${reply.lines.join('\n')}\n`)) {
          blocked = true;
          sock.pause();
        }
        peakOutput = Math.max(peakOutput, sock.writableLength);
        if (sock.writableLength > maxOutput) {
          failure('output', `a client that does not read its replies was dropped (over ${maxOutput} bytes waiting)`);
          return void sock.destroy();
        }
        if (reply.close) return void closeSoon(sock);
      }
      if (!blocked && buffer.length > MAX_LINE) closeSoon(sock, 'ERR INVALID-ARGUMENT');
    };
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      if (!yielding) pump();
    });
    sock.on('drain', () => {
      blocked = false;
      if (yielding) return; // the next turn resumes
      if (!sock.destroyed && sock.writable) sock.resume();
      pump();
    });
  });
  // Accept failures (EMFILE under an fd flood) land here; without a handler they would be thrown.
  // A listen() failure is its caller's to report (startNutServer rejects).
  server.on('error', (err) => {
    if (server.listening) failure('server', 'the listener failed', err);
  });
  return {
    server,
    clients,
    peakOutput: () => peakOutput,
    close: () =>
      new Promise((resolve) => {
        for (const s of [...conns.keys(), ...refused]) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The NUT server of a running engine (halpid's --nut, the plugin's engine modes): UPS halpi2
 * with the engine's values, listening on `listen`. Resolves once it listens.
 */
export async function startNutServer(opts: {
  engine: import('../engine.js').Engine;
  listen: string;
  user: string;
  password: string;
  primary: boolean;
  staleMs: number;
  /** Read the status registers now and then (halpid; the plugin's own polls do it). */
  refreshStatus?: boolean;
  onFsd?: () => void;
  /** Logins and contained failures (docs/nut.md). */
  logger?: Logger;
}): Promise<NutServer & { port: number; host: string }> {
  const { upsState, upsVariables } = await import('./variables.js');
  const { VERSION } = await import('../version.js');
  const { engine } = opts;
  const st = upsState();
  let memo: { key: unknown[]; vars: Map<string, string> } | null = null;
  engine.readConfigKey('solo_power_off_threshold').then(
    (v) => {
      st.cutoff = v;
    },
    () => {},
  );
  // The identity before the first client asks (variables.ts omits what is still unknown).
  await engine.refreshStatus(1000, 0).catch(() => {});
  // FSD lasts as long as the blackout: on line power again, ups.status is OL.
  const onBlackout = (ev: import('../supervisor.js').BlackoutEvent) => {
    if (ev.phase === 'end') st.fsd = false;
  };
  const offBlackout = engine.on('blackout', onBlackout);
  const nut = createNutServer(
    {
      version: VERSION,
      users: opts.user
        ? [{ name: opts.user, password: opts.password, role: opts.primary ? 'primary' : 'secondary' }]
        : [],
      variables: () => {
        // Once per reading: a client pipelining LIST VAR gets the same Map (and protocol.ts its
        // rendered rows) until the next measurement, the state or FSD changes, or it goes stale.
        const m = engine.lastMeasurements; // a new wrapper each time: its values object is the reading's
        const key = [m?.values, m?.wall, engine.state, st.fsd, engine.supervisor.blackoutElapsedS];
        const fresh = (m?.wall ?? -Infinity) > engine.clock.wallNow() - opts.staleMs;
        if (memo && fresh && key.every((k, i) => k === memo!.key[i])) return memo.vars;
        if (opts.refreshStatus) void engine.refreshStatus(1000, 60_000).catch(() => {});
        const vars = upsVariables(engine, st, opts.staleMs);
        memo = vars ? { key, vars } : null;
        return vars;
      },
      forceShutdown: () => {
        st.fsd = true;
        opts.onFsd?.();
      },
    },
    { clock: engine.clock, logger: opts.logger ?? engine.logger },
  );
  const close = nut.close;
  nut.close = () => {
    offBlackout();
    return close();
  };
  const { host, port } = parseListenAddress(opts.listen, 'NUT address');
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => {
      offBlackout();
      reject(err);
    };
    nut.server.once('error', failed);
    nut.server.listen(port, host, () => {
      nut.server.off('error', failed);
      resolve();
    });
  });
  return { ...nut, host, port: (nut.server.address() as { port: number }).port };
}

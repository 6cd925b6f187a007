// The upsd TCP side (docs/nut.md): line framing, at most MAX_CLIENTS connections and
// MAX_LINE bytes a line (a hostile client is disconnected, never buffered without end), idle
// connections closed after IDLE_MS. The protocol itself is protocol.ts.

import { createServer, type Server, type Socket } from 'node:net';
import { parseListenAddress } from '../address.js';
import { handle, type NutBackend, type Session } from './protocol.js';

export const MAX_CLIENTS = 16;
export const MAX_LINE = 1024;
export const IDLE_MS = 120_000;

export interface NutServer {
  server: Server;
  /** Logged-in clients' addresses. */
  clients(): string[];
  close(): Promise<void>;
}

export function createNutServer(backend: Omit<NutBackend, 'clients'>): NutServer {
  const sessions = new Map<Socket, Session>();
  const clients = () => [...sessions.values()].filter((s) => s.loggedIn).map((s) => s.address);
  const full: NutBackend = { ...backend, clients };
  const server = createServer((sock) => {
    if (sessions.size >= MAX_CLIENTS) {
      sock.end('ERR MAX-CLIENTS\n');
      return;
    }
    const session: Session = { address: sock.remoteAddress ?? 'unknown', loggedIn: false, primary: false };
    sessions.set(sock, session);
    sock.setEncoding('utf8');
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    let buffer = '';
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line.length > MAX_LINE) return void sock.end('ERR INVALID-ARGUMENT\n');
        let reply;
        try {
          reply = handle(line, session, full);
        } catch {
          reply = { lines: ['ERR UNKNOWN'] };
        }
        if (reply.lines.length) sock.write(`${reply.lines.join('\n')}\n`);
        if (reply.close) return void sock.end();
      }
      if (buffer.length > MAX_LINE) sock.end('ERR INVALID-ARGUMENT\n');
    });
    sock.on('error', () => {});
    sock.on('close', () => sessions.delete(sock));
  });
  return {
    server,
    clients,
    close: () => new Promise((resolve) => {
      for (const s of sessions.keys()) s.destroy();
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
}): Promise<NutServer & { port: number; host: string }> {
  const { upsState, upsVariables } = await import('./variables.js');
  const { VERSION } = await import('../version.js');
  const { engine } = opts;
  const st = upsState();
  engine.readConfigKey('solo_power_off_threshold').then((v) => { st.cutoff = v; }, () => {});
  const nut = createNutServer({
    version: VERSION,
    users: opts.user ? [{ name: opts.user, password: opts.password, role: opts.primary ? 'primary' : 'secondary' }] : [],
    variables: () => {
      if (opts.refreshStatus) void engine.refreshStatus(1000, 60_000).catch(() => {});
      return upsVariables(engine, st, opts.staleMs);
    },
    forceShutdown: () => {
      st.fsd = true;
      opts.onFsd?.();
    },
  });
  const { host, port } = parseListenAddress(opts.listen, 'NUT address');
  await new Promise<void>((resolve, reject) => {
    nut.server.once('error', reject);
    nut.server.listen(port, host, () => {
      nut.server.off('error', reject);
      resolve();
    });
  });
  return { ...nut, host, port: (nut.server.address() as { port: number }).port };
}

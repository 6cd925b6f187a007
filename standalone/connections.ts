// Every socket a face accepts, tracked by the daemon itself (docs/configuration.md, "Faces"): each
// gets an error handler, so a reset from a client never reaches the process, and a stop can
// destroy them all at once instead of waiting for clients to leave (the watchdog must be disarmed
// within the stop's deadline whatever is connected).

import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Logger } from '../engine/log.js';

export class Connections {
  /** Open sockets, oldest first (a Set keeps insertion order). */
  protected readonly open = new Set<Socket>();

  private lastError = '';

  constructor(
    readonly server: Server,
    /** Its name in the log and in /metrics. */
    readonly name: string,
    protected readonly logger: Logger,
  ) {
    // Added after the face's own listener: it sees refused sockets too.
    server.on('connection', (sock: Socket) => this.accept(sock));
    // A listening server reports failed accepts (EMFILE, ENFILE) here: logged, never thrown.
    // Once per kind of error: a flood must not become a flood of log lines.
    server.on('error', (err: NodeJS.ErrnoException) => {
      const text = err.code ?? err.message;
      if (text === this.lastError) return;
      this.lastError = text;
      this.logger.error(`${this.name}: ${err.message}`);
    });
  }

  get size(): number {
    return this.open.size;
  }

  protected accept(sock: Socket): void {
    this.open.add(sock);
    sock.on('error', () => {});
    sock.once('close', () => this.open.delete(sock));
  }

  /** Destroy every open socket (the face closes its server first, so that none arrives after). */
  destroyAll(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
  }
}

/** The bounds of one HTTP listener (docs/configuration.md, "Faces"). */
export interface HttpLimits {
  /** Open connections; past it the oldest idle one is dropped for the newcomer. */
  maxConnections: number;
  /** A connection that sends nothing while we wait for its request (head or body) is closed. */
  idleMs: number;
  /** The whole request head must arrive within this. */
  headersTimeoutMs: number;
  /** Between requests on a kept-alive connection. */
  keepAliveMs: number;
}

export const HTTP_LIMITS: HttpLimits = {
  maxConnections: 256,
  idleMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveMs: 5_000,
};
/** Request heads: at most this many bytes (431 beyond) and header lines. */
export const MAX_HEADER_BYTES = 8 * 1024;
export const MAX_HEADERS = 64;

/**
 * An HTTP listener's connections, bounded. A flood of idle connections cannot fill the heap nor
 * lock a client out: past `maxConnections` the oldest connection without a request in progress
 * is dropped to make room, so a client that connects and asks at once is served. While a request
 * is handled (a firmware flash runs for more than a minute inside its request) no idle timeout
 * applies; there is no request timeout.
 */
export class HttpConnections extends Connections {
  /** Requests in progress per socket (an event stream stays in progress). */
  private readonly busy = new Map<Socket, number>();
  dropped = 0;

  constructor(
    server: HttpServer,
    name: string,
    logger: Logger,
    private readonly limits: HttpLimits = HTTP_LIMITS,
  ) {
    super(server, name, logger);
    server.headersTimeout = limits.headersTimeoutMs;
    server.keepAliveTimeout = limits.keepAliveMs;
    server.requestTimeout = 0;
    server.maxHeadersCount = MAX_HEADERS;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const sock = req.socket;
      this.busy.set(sock, (this.busy.get(sock) ?? 0) + 1);
      // Waiting for the body: idle timeout; once it is in, the work is ours and has no limit.
      if (req.complete) sock.setTimeout(0);
      else {
        sock.setTimeout(limits.idleMs);
        req.once('end', () => sock.setTimeout(0));
      }
      res.once('close', () => {
        const n = (this.busy.get(sock) ?? 1) - 1;
        if (n > 0) this.busy.set(sock, n);
        else this.busy.delete(sock);
      });
    });
  }

  protected override accept(sock: Socket): void {
    super.accept(sock);
    sock.once('close', () => this.busy.delete(sock));
    // Node's own timeout listener destroys the socket; ours makes sure of it.
    sock.setTimeout(this.limits.idleMs, () => sock.destroy());
    if (this.open.size <= this.limits.maxConnections) return;
    let victim: Socket = sock;
    for (const s of this.open) {
      if (s !== sock && !this.busy.has(s)) {
        victim = s;
        break;
      }
    }
    // Logged once; the count is in /metrics.
    if (this.dropped++ === 0)
      this.logger.warn(
        `${this.name}: ${this.limits.maxConnections} connections open; dropping the oldest idle ones for new ones`,
      );
    victim.destroy();
    this.open.delete(victim);
  }
}

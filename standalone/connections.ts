// Every socket a face accepts, tracked by the daemon itself (docs/configuration.md, "Faces"): each
// gets an error handler, so a reset from a client never reaches the process, and a stop can
// destroy them all at once instead of waiting for clients to leave (the watchdog must be disarmed
// within the stop's deadline whatever is connected).

import type { Server, Socket } from 'node:net';
import type { Logger } from '../engine/log.js';

export class Connections {
  /** Open sockets, oldest first (a Set keeps insertion order). */
  protected readonly open = new Set<Socket>();

  private lastError = '';

  constructor(
    readonly server: Server,
    /** Its name in the log. */
    private readonly name: string,
    private readonly logger: Logger,
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

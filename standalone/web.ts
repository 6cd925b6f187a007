// The optional web listener (docs/configuration.md): the panel's static files at `/` and the API
// under `/api` (never /api/flash). It is no way around the Unix socket's permissions: every write
// needs the token (on loopback too: any local user and any web page can reach loopback) and must
// come from the listener's own origin (docs/api.md, "Over the web listener"); a Host check guards
// against DNS rebinding.

import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import express from 'express';
import { parseListenAddress, type ListenAddress } from '../engine/address.js';
import { afterDrain } from '../engine/api/http.js';
import type { Api } from '../engine/api/router.js';
import type { Logger } from '../engine/log.js';
import { MAX_HEADER_BYTES } from './connections.js';
import { precompressed } from './precompressed.js';

export type WebAddress = ListenAddress;

/** `host:port`, `[v6]:port`, or a bare port (= 127.0.0.1). */
export const parseWebAddress = (text: string): WebAddress => parseListenAddress(text, 'web address');

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** The host name of a Host header, without brackets and port; '' when there is none. */
function hostOf(header = ''): string {
  const m = /^\[([^\]]+)\](?::[0-9]+)?$/.exec(header) ?? /^([^:]+)(?::[0-9]+)?$/.exec(header);
  return m ? m[1]!.toLowerCase() : '';
}

const FORBIDDEN =
  '{"error":"Read-only: writes over the web listener need the web token (Authorization: Bearer <token>)"}';
const CROSS_ORIGIN = '{"error":"Cross-origin write refused"}';
const SIMPLE = '{"error":"Writes need Content-Type: application/json or X-Halpi-Request: 1"}';

const WRITE_METHODS = new Set(['PUT', 'POST', 'DELETE', 'PATCH']);
const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Whether a write comes from another origin: `Sec-Fetch-Site` other than same-origin (or none:
 * typed by the user), or an `Origin` that is not this listener as the request named it (Host).
 * Browsers send at least one of them with every cross-origin write; other clients send neither.
 */
export function isCrossOrigin(req: IncomingMessage): boolean {
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = header(req, 'origin');
  if (origin === undefined) return false;
  return origin.toLowerCase() !== `http://${(header(req, 'host') ?? '').toLowerCase()}`;
}

/**
 * Whether the request is one a page cannot send without a CORS preflight (which this listener
 * never grants): a JSON content type, our own header, or an Authorization header. A form or a
 * no-cors fetch with a text/plain body (dialect 4 reads those) is refused.
 */
export function isNonSimple(req: IncomingMessage): boolean {
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return (
    /^application\/([^\s/]+\+)?json$/.test(type) ||
    header(req, 'x-halpi-request') === '1' ||
    header(req, 'authorization') !== undefined
  );
}

/** Why a write is refused (status and body), or null when it may go ahead. */
export function writeRefusal(req: IncomingMessage, token: string): { status: number; body: string } | null {
  if (isCrossOrigin(req)) return { status: 403, body: CROSS_ORIGIN };
  if (!isNonSimple(req)) return { status: 403, body: SIMPLE };
  if (!authorised(req, token)) return { status: 403, body: FORBIDDEN };
  return null;
}

export function createWebApp(opts: { api: Api; bound: WebAddress; token: () => string; panelDir?: string }) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const bound = opts.bound.host.toLowerCase();
  const locals = localAddresses();
  app.use((req, res, next) => {
    res.setHeader('Content-Security-Policy', "default-src 'self'");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const host = hostOf(req.headers.host);
    if (!(host === bound || host === 'localhost' || locals.has(host))) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Misdirected Request\n');
      return;
    }
    next();
  });
  // What the panel may do: it shows itself read-only, or asks for the token, before a write fails.
  app.get('/access', (req, res) => {
    res.json({ write: authorised(req, opts.token()), token: opts.token() !== '' });
  });
  app.use('/api', (req: IncomingMessage, res: ServerResponse) => {
    const refused = WRITE_METHODS.has(req.method ?? '') ? writeRefusal(req, opts.token()) : null;
    if (refused) {
      afterDrain(req, () => {
        res.writeHead(refused.status, {
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(refused.body)),
        });
        res.end(refused.body);
      });
      return;
    }
    opts.api.handle(req, res);
  });
  if (opts.panelDir && existsSync(opts.panelDir)) {
    app.use(precompressed(opts.panelDir));
    app.use(express.static(opts.panelDir, { index: 'index.html', etag: false }));
  } else {
    app.get('/', (_req, res) => {
      res
        .type('html')
        .send(
          '<!doctype html><meta charset="utf-8"><title>halpid</title><p>halpid is running. The API is under <a href="api/values">/api</a>.</p>\n',
        );
    });
  }
  return app;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * `Authorization: Bearer <token>`; an empty token never matches. Compared as SHA-256 digests in
 * constant time: neither the content nor the length of the token leaks through timing.
 */
export function authorised(req: IncomingMessage, token: string): boolean {
  const auth = header(req, 'authorization');
  if (!auth?.startsWith('Bearer ') || token === '') return false;
  return timingSafeEqual(sha256(auth.slice('Bearer '.length)), sha256(token));
}

export async function startWeb(opts: {
  address: string;
  api: Api;
  token: () => string;
  logger: Logger;
  panelDir?: string;
}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const bound = parseWebAddress(opts.address);
  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES },
    createWebApp({ api: opts.api, bound, token: opts.token, panelDir: opts.panelDir }),
  );
  server.requestTimeout = 0; // event streams stay open; the daemon's HttpConnections bounds idle ones
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bound.port, bound.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  // The port actually bound (it differs when 0 asked the system for a free one).
  const url = `http://${host}:${(server.address() as AddressInfo).port}/`;
  opts.logger.info(`Web panel listening on ${url}`);
  return {
    server,
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

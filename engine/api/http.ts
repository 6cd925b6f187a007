// Wire-level helpers of the halpid API: responses byte for byte (docs/api.md), body
// reading with the framework rejections in their documented order, path parameters.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { expectedBoolean, JsonSyntaxError, parseJson, type JsonValue } from './json-parse.js';
import { stringify, type Dialect, type Out } from './json-write.js';

export const BODY_LIMIT = 2 * 1024 * 1024;
const TEXT = 'text/plain; charset=utf-8';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  dialect: Dialect;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The listener's body limit (BODY_LIMIT when not set). */
  bodyLimit?: number;
}

/**
 * Write a response, once the request body (if any) has been received: a client still sending
 * when we answer and close would see a reset instead of the answer.
 */
function send(ctx: Ctx, status: number, headers: Record<string, string>, body?: string): void {
  afterDrain(ctx.req, () => write(ctx.res, status, headers, body));
}

function write(res: ServerResponse, status: number, headers: Record<string, string>, body?: string): void {
  if (res.headersSent || res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status, status === 204 ? headers : { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }
  // `headers` is the sender's own object (sendJson, sendText make it): no copy, and no Buffer for
  // the body, which node:http encodes as it writes.
  headers['Content-Length'] = String(Buffer.byteLength(body, 'utf8'));
  res.writeHead(status, headers);
  res.end(body, 'utf8');
}

export function sendJson(ctx: Ctx, status: number, value: Out, dialect: Dialect = ctx.dialect): void {
  const type = dialect === 4 ? 'application/json; charset=utf-8' : 'application/json';
  send(ctx, status, { 'Content-Type': type }, stringify(value, dialect));
}

export function sendText(ctx: Ctx, status: number, body: string, headers: Record<string, string> = {}): void {
  send(ctx, status, { 'Content-Type': TEXT, ...headers }, body);
}

export function sendEmpty(ctx: Ctx, status: number, headers: Record<string, string> = {}): void {
  send(ctx, status, headers);
}

/** A handler error: JSON `{"error":…}` in dialect 5, the text alone in dialect 4. */
export function sendError(ctx: Ctx, status: number, message: string): void {
  if (ctx.dialect === 4) sendText(ctx, status, message);
  else sendJson(ctx, status, { error: message });
}

/** Read and throw away a body the route does not take. */
export function discardBody(req: IncomingMessage): void {
  req.resume();
}

const DRAIN_LIMIT = 16 * 1024 * 1024;

/**
 * Answer a request whose body we stopped reading only once the client has sent it all, so a
 * client still writing gets the answer instead of a reset; past `limit` bytes we answer anyway.
 */
export function afterDrain(req: IncomingMessage, answer: () => void, limit = DRAIN_LIMIT): void {
  if (req.complete) {
    answer();
    return;
  }
  let drained = 0;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    req.off('data', onData);
    answer();
  };
  const onData = (chunk: Buffer): void => {
    drained += chunk.length;
    if (drained > limit) finish();
  };
  req.on('data', onData);
  req.once('end', finish);
  req.once('close', finish);
  req.resume();
}

function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [essence] = header.split(';');
  const m = /^\s*([^\s/]+)\/([^\s/]+)\s*$/.exec(essence ?? '');
  if (!m) return false;
  const type = m[1]!.toLowerCase();
  const sub = m[2]!.toLowerCase();
  return type === 'application' && (sub === 'json' || sub.endsWith('+json'));
}

/** Buffer the body up to the limit; resolves null (after answering 413) when it is larger. */
export function readBody(ctx: Ctx, limit = ctx.bodyLimit ?? BODY_LIMIT): Promise<Buffer | null> {
  const { req } = ctx;
  const tooLarge = (): null => {
    afterDrain(req, () => sendText(ctx, 413, 'Failed to buffer the request body: length limit exceeded'));
    return null;
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(tooLarge());
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.off('data', onData);
        resolve(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        resolve(null);
      }
    });
    req.on('close', () => {
      if (!done) {
        done = true;
        resolve(null);
      }
    });
  });
}

/**
 * A JSON body: 415 (dialect 5 only), 413, 400 syntax, in that order. Resolves null when it
 * already answered.
 */
export async function readJson(ctx: Ctx): Promise<JsonValue | null> {
  if (ctx.dialect === 5 && !isJsonContentType(ctx.req.headers['content-type'])) {
    sendText(ctx, 415, 'Expected request with `Content-Type: application/json`');
    discardBody(ctx.req);
    return null;
  }
  const body = await readBody(ctx);
  if (body === null) return null;
  try {
    return parseJson(body);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    sendText(ctx, 400, `Failed to parse the request body as JSON: ${err.message}`);
    return null;
  }
}

/** 422 with serde's wording. */
export function rejectShape(ctx: Ctx, detail: string): void {
  sendText(ctx, 422, `Failed to deserialize the JSON body into the target type: ${detail}`);
}

/** A JSON boolean body (PUT /usb/{port}); answers 422 otherwise. */
export async function readBoolean(ctx: Ctx): Promise<boolean | null> {
  const v = await readJson(ctx);
  if (v === null) return null;
  if (v.t !== 'bool') {
    rejectShape(ctx, expectedBoolean(v));
    return null;
  }
  return v.v;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-decode a path parameter; invalid escapes stay literal. Null when not valid UTF-8. */
export function decodeParam(raw: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** `{port}` as axum parses a u8: `^\+?[0-9]+$`, value ≤ 255. */
export function parseU8(text: string): number | null {
  if (!/^\+?[0-9]+$/.test(text)) return null;
  const n = Number(text.replace(/^\+/, ''));
  return n <= 255 ? n : null;
}

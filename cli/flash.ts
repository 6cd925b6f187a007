// `halpi flash <file>` (docs/cli.md): checks the image before contacting the daemon, asks on a
// terminal, uploads it as multipart with an explicit length and no timeout, and shows progress
// from /events.

import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { checkFirmwareImage, FirmwareImageError, imageTooLarge, MAX_IMAGE_BYTES } from '../engine/firmware-image.js';
import { readEvents } from '../lib/sse.js';
import { socketStream } from '../lib/socket-stream.js';
import { CliError, httpError, type Client } from './client.js';

export interface FlashOutput {
  out: (line: string) => void;
  /** Progress display: a redrawn bar on a TTY, plain lines otherwise, nothing with --json. */
  progress: 'bar' | 'lines' | 'none';
  err: NodeJS.WritableStream & { isTTY?: boolean };
  green: (s: string) => string;
  /** Asked once the image is checked, before anything is sent; false cancels. None: no question. */
  confirm?: (question: string) => Promise<boolean>;
  /** Called just before the upload starts. */
  onUpload?: () => void;
}

/** The file as an image the controller's bootloader can start (engine/firmware-image.ts), or a CliError. */
export function readImage(path: string): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CliError(`Firmware file not found: ${path}`);
  }
  if (!st.isFile()) throw new CliError(`Path is not a file: ${path}`);
  if (st.size > MAX_IMAGE_BYTES) throw new CliError(imageTooLarge(st.size)); // not read into memory
  const image = readFileSync(path);
  try {
    checkFirmwareImage(image);
  } catch (err) {
    if (err instanceof FirmwareImageError) throw new CliError(err.message);
    throw err;
  }
  return image;
}

/** One line from a terminal: true for y or yes; false for anything else or the end of input. */
export function askYesNo(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<boolean> {
  output.write(question);
  return new Promise((resolve) => {
    let line = '';
    const done = (yes: boolean): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      resolve(yes);
    };
    const onData = (chunk: Buffer | string): void => {
      line += chunk.toString();
      const nl = line.indexOf('\n');
      if (nl >= 0) done(/^\s*y(es)?\s*$/i.test(line.slice(0, nl)));
    };
    const onEnd = (): void => {
      output.write('\n');
      done(false);
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

/**
 * Whether `halpi flash` asks before uploading (docs/cli.md): only with a person at a terminal.
 * Scripts (no TTY) go ahead as the earlier halpi did, and so does the halpi2-firmware package's
 * postinst, which runs under `timeout` where a question could never be answered.
 */
export function askFirst(
  yes: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
  tty = { stdin: Boolean(process.stdin.isTTY), stderr: Boolean(process.stderr.isTTY) },
): boolean {
  if (yes) return false;
  if (env.DPKG_MAINTSCRIPT_PACKAGE) return false;
  return tty.stdin && tty.stderr;
}

const BAR = 30;
/** `[████░░…]  47%`: 30 cells and the percentage (docs/cli.md). */
const bar = (fraction: number): string => {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * BAR);
  return `[${'█'.repeat(full)}${'░'.repeat(BAR - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
};
const emptyBar = `[${'░'.repeat(BAR)}]`;

/** Open /events and call `onFlash` for each flash event; resolves a closer (null on 404). */
function watchEvents(socket: string, onFlash: (data: Record<string, unknown>) => void): Promise<(() => void) | null> {
  return new Promise((resolve) => {
    const req = socketStream(socket, '/events');
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(null);
        return;
      }
      readEvents(res, (event, data) => {
        if (event !== 'flash') return;
        try {
          onFlash(JSON.parse(data) as Record<string, unknown>);
        } catch {
          // ignore a garbled event
        }
      });
      res.on('error', () => {});
      resolve(() => req.destroy());
    });
    req.on('error', () => resolve(null));
  });
}

export async function flash(client: Client, path: string, o: FlashOutput): Promise<number> {
  const image = readImage(path);
  o.out(`Reading firmware file: ${path}`);
  o.out(`Firmware size: ${image.length} bytes`);
  if (
    o.confirm &&
    !(await o.confirm(
      `Flash ${basename(path)} (${image.length} bytes) to the HALPI2 controller? It takes effect after the next full power cycle. [y/N] `,
    ))
  ) {
    throw new CliError('Cancelled; nothing was sent to the controller');
  }
  o.onUpload?.();
  o.out('Uploading firmware to device...');

  let line = '';
  let lastDraw = 0;
  let pendingDraw: NodeJS.Timeout | null = null;
  const started = Date.now();
  const draw = (text: string, force = false): void => {
    if (o.progress === 'none') return;
    if (o.progress === 'lines') {
      if (text !== line) o.err.write(`${text}\n`);
      line = text;
      return;
    }
    line = text;
    const now = Date.now();
    const paint = () => {
      lastDraw = Date.now();
      pendingDraw = null;
      o.err.write(`\r\u001b[K${line}`);
    };
    if (force || now - lastDraw >= 100) paint();
    else pendingDraw ??= setTimeout(paint, 100 - (now - lastDraw));
  };
  const erase = (): void => {
    if (pendingDraw) clearTimeout(pendingDraw);
    if (o.progress === 'bar') o.err.write('\r\u001b[K');
  };

  // Our tag on the upload: while another upload runs ahead of ours in the daemon's queue, its
  // progress (tagged otherwise) is not ours to show. A daemon that tags nothing shows all.
  const tag = randomBytes(8).toString('hex');
  let haveEvents = false;
  let waitingShown = false;
  const close = await watchEvents(client.socket, (e) => {
    if (e.upload !== undefined && e.upload !== tag) {
      if (!haveEvents && !waitingShown && e.phase !== 'done' && e.phase !== 'error') {
        waitingShown = true;
        draw('Waiting for another firmware update to finish');
      }
      return;
    }
    haveEvents = true;
    if (e.phase === 'start') draw(o.progress === 'bar' ? `Erasing    ${emptyBar}` : 'Erasing');
    else if (e.phase === 'block') {
      const done = Number(e.block);
      const total = Number(e.blocks);
      draw(
        o.progress === 'bar'
          ? `Writing    ${bar(done / total)}  ${done}/${total} blocks`
          : `Writing block ${done}/${total}`,
      );
    } else if (e.phase === 'verify') draw('Verifying');
  });
  const ticker =
    close || o.progress !== 'bar'
      ? null
      : setInterval(() => draw(`Flashing... ${Math.round((Date.now() - started) / 1000)} s`), 1000);
  const boundary = `----halpi${Date.now().toString(16)}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="firmware"; filename="${basename(path).replace(/"/g, '')}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    image,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  try {
    const res = await client.request('POST', '/flash', {
      body,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'X-Halpi-Upload': tag },
      timeoutMs: 0,
      onSent: (sent, total) => {
        if (!haveEvents && o.progress === 'bar') draw(`Sending    ${bar(sent / total)}`);
        else if (!haveEvents && sent === total) draw('Sending done');
      },
    });
    erase();
    if (res.status < 200 || res.status > 299) {
      const e = httpError(res);
      throw new CliError(e.message.replace(/^Request failed/, 'Firmware upload failed'));
    }
  } finally {
    if (ticker) clearInterval(ticker);
    close?.();
  }
  o.out(o.green('Firmware uploaded successfully'));
  o.out(o.green('The new firmware takes effect after the next full power cycle (sudo shutdown -h now).'));
  return image.length;
}

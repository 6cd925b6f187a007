// `halpi status`, and how halpi reports a failure: shared by the argument parser (program.ts) and
// the entry's short way for plain `halpi status` (main.ts), so both print the same.

import { CliError, Client, resolveSocket } from './client.js';
import { colours, facesDown, facesDownLines, statusTable } from './format.js';

/** The options every command takes. */
export interface Globals {
  socket?: string;
  json?: boolean;
  color?: boolean;
}

const out = (s: string): void => {
  process.stdout.write(s);
};

export async function status(g: Globals): Promise<void> {
  const client = new Client(resolveSocket(g.socket, process.env));
  const c = colours(process.stdout, process.env, g.color === false || Boolean(g.json));
  const values = await client.json('GET', '/values');
  const v = values.value as Record<string, unknown>;
  let usbText: string | null = null;
  let usb: Record<string, unknown> | null = null;
  if (!('usb_port_state' in v) || g.json) {
    try {
      const r = await client.call('GET', '/usb');
      usbText = r.text;
      usb = JSON.parse(r.text) as Record<string, unknown>;
    } catch {
      usb = null;
    }
  }
  if (g.json) return out(`{"values":${values.res.text},"usb":${usbText ?? 'null'}}\n`);
  out(statusTable(v, usb, c));
  // A web or NUT listener that could not start: the daemon supervises on, and says so here.
  try {
    out(facesDownLines(facesDown((await client.call('GET', '/metrics')).text), c));
  } catch {
    // a daemon without /metrics (halpid 5.0.2): nothing to say
  }
}

/** Print a command's failure (JSON with --json) and return the exit code. */
export function reportError(err: unknown, g: Globals): number {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof CliError ? err.code : 1;
  if (g.json) process.stderr.write(`${JSON.stringify({ error: message })}\n`);
  else
    process.stderr.write(`${colours(process.stderr, process.env, g.color === false).boldRed('Error:')} ${message}\n`);
  return code;
}

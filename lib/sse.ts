// The event stream (GET /events, text/event-stream) as events, with eventsource-parser: one
// parser for halpi flash and the Signal K plugin's client mode.

import type { IncomingMessage } from 'node:http';
import { createParser } from 'eventsource-parser';

/** Call `onEvent(name, data)` for each event on `res` ('message' when the event has no name). */
export function readEvents(res: IncomingMessage, onEvent: (event: string, data: string) => void): void {
  const parser = createParser({ onEvent: (e) => onEvent(e.event ?? 'message', e.data) });
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => parser.feed(chunk));
}

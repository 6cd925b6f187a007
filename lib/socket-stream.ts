// A GET whose answer is a stream (halpid's /events), through node:http: the plugin's client mode
// and `halpi flash` read it as server-sent events (sse.ts). Apart from socket-http.ts so that a
// plain request loads none of node:http.

import { request, type ClientRequest } from 'node:http';

/** A GET whose answer is a stream (/events): the caller reads the response and destroys the request. */
export function socketStream(socketPath: string, path: string): ClientRequest {
  const req = request({
    socketPath,
    method: 'GET',
    path,
    headers: { Host: 'localhost', Accept: 'text/event-stream' },
    agent: false,
  });
  req.end();
  return req;
}

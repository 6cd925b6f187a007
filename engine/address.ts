// Listening addresses of the TCP faces (the web listener, the NUT server): `host:port`,
// `[v6]:port`, or a bare port, which means loopback only.

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parse an address; `what` names it in the error. */
export function parseListenAddress(text: string, what = 'address'): ListenAddress {
  if (/^[0-9]+$/.test(text)) return { host: '127.0.0.1', port: Number(text) };
  const m = /^\[([^\]]+)\]:([0-9]+)$/.exec(text) ?? /^([^:]+):([0-9]+)$/.exec(text);
  if (!m) throw new Error(`invalid ${what} ${JSON.stringify(text)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

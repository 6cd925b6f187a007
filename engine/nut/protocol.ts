// The upsd network protocol of Network UPS Tools (docs/nut.md), as a pure function of one line
// and the connection's state: tokens with double quotes and backslash escapes, NUT's exact ERR
// replies. One UPS, `halpi2`. The TCP side lives in server.ts.

import { createHash, timingSafeEqual } from 'node:crypto';
import { description, NO_DESCRIPTION, typeOf } from './names.js';

export const UPS_NAME = 'halpi2';
export const UPS_DESC = 'HALPI2 supercapacitor UPS';
export const NETVER = '1.3';

export interface NutUser {
  name: string;
  password: string;
  /** upsd.users `upsmon primary` may set FSD; `upsmon secondary` may only log in. */
  role: 'primary' | 'secondary';
}

export interface Session {
  address: string;
  username?: string;
  password?: string;
  loggedIn: boolean;
  primary: boolean;
  /** SET TRACKING ON (NUT 2.8): nothing is ever tracked here, but the setting is kept. */
  tracking?: boolean;
}

export interface NutBackend {
  /** The variables now, or null when the data is stale (ERR DATA-STALE). */
  variables(): Map<string, string> | null;
  users: NutUser[];
  /** Logged-in clients, for NUMLOGINS and LIST CLIENT. */
  clients(): string[];
  /** A primary asked for forced shutdown. */
  forceShutdown(): void;
  version: string;
  /** While true (too many failed logins), credentials are refused without being checked. */
  authLocked?(): boolean;
}

export interface Reply {
  lines: string[];
  close?: boolean;
  /** The credentials were wrong (or not checked: authLocked): the server rate-limits these. */
  authFailed?: boolean;
}

/** Split a command line into tokens: spaces separate, "…" groups, \ escapes the next character. */
export function tokenize(line: string): string[] | null {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\') {
      if (i + 1 >= line.length) return null;
      cur += line[++i];
      inToken = true;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if ((c === ' ' || c === '\t') && !quoted) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (quoted) return null;
  if (inToken) out.push(cur);
  return out;
}

/** A value in double quotes with \ and " escaped. */
export const quote = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

const err = (code: string): Reply => ({ lines: [`ERR ${code}`] });

/** Commands that need USERNAME and PASSWORD first, whatever their arguments (upsd's FLAG_USER). */
const NEEDS_USER = new Set(['LOGIN', 'PRIMARY', 'MASTER', 'FSD', 'SET', 'INSTCMD']);

/** As upsd: the UPS name in any case (`upsc HALPI2@host`); replies echo the client's spelling. */
const isUps = (name: string | undefined): boolean => name?.toLowerCase() === UPS_NAME;

/**
 * One command line. The order of the checks is upsd 2.8's (server/net*.c), so that a client sees
 * the same error for the same mistake; argument counts are "at least", extra ones ignored, as there.
 */
export function handle(line: string, s: Session, b: NutBackend): Reply {
  const t = tokenize(line);
  if (t === null) return err('INVALID-ARGUMENT');
  if (t.length === 0) return err('UNKNOWN-COMMAND');
  const [word, ...args] = t;
  const cmd = word!.toUpperCase();
  if (NEEDS_USER.has(cmd)) {
    if (s.username === undefined) return err('USERNAME-REQUIRED');
    if (s.password === undefined) return err('PASSWORD-REQUIRED');
  }
  switch (cmd) {
    case 'VER':
      return args.length ? err('INVALID-ARGUMENT') : { lines: [serverInfo(b)] };
    case 'NETVER':
    case 'PROTVER': // NUT 2.8's name for NETVER
      return args.length ? err('INVALID-ARGUMENT') : { lines: [NETVER] };
    case 'HELP':
      return args.length
        ? err('INVALID-ARGUMENT')
        : { lines: ['Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS'] };
    case 'STARTTLS':
      return err('FEATURE-NOT-CONFIGURED');
    case 'LOGOUT':
      return args.length ? err('INVALID-ARGUMENT') : { lines: ['OK Goodbye'], close: true };
    case 'USERNAME':
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      if (s.username !== undefined) return err('ALREADY-SET-USERNAME');
      s.username = args[0];
      return { lines: ['OK'] };
    case 'PASSWORD':
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      if (s.password !== undefined) return err('ALREADY-SET-PASSWORD');
      s.password = args[0];
      return { lines: ['OK'] };
    case 'LOGIN': {
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      if (s.loggedIn) return err('ALREADY-LOGGED-IN');
      if (!isUps(args[0])) return err('UNKNOWN-UPS');
      if (!user(s, b)) return denied();
      s.loggedIn = true;
      return { lines: ['OK'] };
    }
    case 'PRIMARY':
    case 'MASTER': {
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      if (!isUps(args[0])) return err('UNKNOWN-UPS');
      const u = user(s, b);
      if (!u) return denied();
      if (u.role !== 'primary') return err('ACCESS-DENIED');
      s.primary = true;
      return { lines: [cmd === 'MASTER' ? 'OK MASTER-GRANTED' : 'OK PRIMARY-GRANTED'] };
    }
    case 'FSD': {
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      if (!isUps(args[0])) return err('UNKNOWN-UPS');
      // As upsd, a primary user may set FSD without PRIMARY first. Once PRIMARY checked the
      // credentials (which cannot change on a connection), a lock-out by someone else's failed
      // guesses must not stop a primary's FSD.
      if (!s.primary) {
        const u = user(s, b);
        if (!u) return denied();
        if (u.role !== 'primary') return err('ACCESS-DENIED');
      }
      b.forceShutdown();
      return { lines: ['OK FSD-SET'] };
    }
    case 'SET':
      return set(args, s, b);
    case 'INSTCMD':
      if (args.length < 2) return err('INVALID-ARGUMENT');
      if (!isUps(args[0])) return err('UNKNOWN-UPS');
      if (!b.variables()) return err('DATA-STALE');
      return err('CMD-NOT-SUPPORTED'); // the HALPI2 has no instant commands
    case 'GET':
      return get(args, s, b);
    case 'LIST':
      return list(args, b);
    default:
      return err('UNKNOWN-COMMAND');
  }
}

const serverInfo = (b: NutBackend): string =>
  `Network UPS Tools upsd ${b.version} (halpid) - https://networkupstools.org/`;

const denied = (): Reply => ({ ...err('ACCESS-DENIED'), authFailed: true });

const digest = (v: string): Buffer => createHash('sha256').update(v).digest();
/** Equal in constant time: a wrong guess's timing says nothing about the secret or its length. */
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** The user the session's credentials name; undefined when wrong, or unchecked while locked. */
function user(s: Session, b: NutBackend): NutUser | undefined {
  if (s.username === undefined || s.password === undefined || b.authLocked?.()) return undefined;
  return b.users.find((u) => same(u.name, s.username!) && same(u.password, s.password!));
}

/** Case-insensitive, as upsd's variable tree. */
const lookup = (vars: Map<string, string>, name: string): string | undefined =>
  vars.get(name) ?? vars.get(name.toLowerCase());

function set(args: string[], s: Session, b: NutBackend): Reply {
  if (args.length < 2) return err('INVALID-ARGUMENT');
  const what = args[0]!.toUpperCase();
  if (what === 'VAR') {
    if (args.length < 4) return err('INVALID-ARGUMENT');
    if (!isUps(args[1])) return err('UNKNOWN-UPS');
    if (!b.variables()) return err('DATA-STALE');
    // No user may SET (upsd.users' `upsmon` roles carry no SET action, and nothing is writable):
    // the same answer whatever the credentials, so it tells a guesser nothing.
    return err('ACCESS-DENIED');
  }
  if (what === 'TRACKING') {
    const v = args[1]!.toUpperCase();
    if (v !== 'ON' && v !== 'OFF') return err('INVALID-ARGUMENT');
    s.tracking = v === 'ON';
    return { lines: ['OK'] };
  }
  return err('INVALID-ARGUMENT');
}

function get(args: string[], s: Session, b: NutBackend): Reply {
  if (args.length < 1) return err('INVALID-ARGUMENT');
  const what = args[0]!.toUpperCase();
  if (what === 'TRACKING') {
    if (args.length < 2) return { lines: [s.tracking ? 'ON' : 'OFF'] };
    // Nothing is ever tracked (no SET or INSTCMD succeeds): every id is unknown.
    return s.tracking ? { lines: ['ERR UNKNOWN'] } : err('FEATURE-NOT-CONFIGURED');
  }
  if (args.length < 2) return err('INVALID-ARGUMENT');
  const name = args[1]!;
  if (what === 'UPSDESC') return isUps(name) ? { lines: [`UPSDESC ${name} ${quote(UPS_DESC)}`] } : err('UNKNOWN-UPS');
  if (what === 'NUMLOGINS') {
    if (!isUps(name)) return err('UNKNOWN-UPS');
    if (!b.variables()) return err('DATA-STALE');
    return { lines: [`NUMLOGINS ${name} ${b.clients().length}`] };
  }
  if (args.length < 3) return err('INVALID-ARGUMENT');
  const varName = args[2]!;
  if (what === 'VAR' && varName.toLowerCase().startsWith('server.')) {
    // upsd's own variables, whatever the UPS name.
    const v = varName.toLowerCase();
    if (v === 'server.info') return { lines: [`VAR ${name} server.info ${quote(serverInfo(b))}`] };
    if (v === 'server.version') return { lines: [`VAR ${name} server.version ${quote(b.version)}`] };
    return err('VAR-NOT-SUPPORTED');
  }
  if (!['VAR', 'TYPE', 'DESC', 'CMDDESC'].includes(what)) return err('INVALID-ARGUMENT');
  if (!isUps(name)) return err('UNKNOWN-UPS');
  const vars = b.variables();
  if (!vars) return err('DATA-STALE');
  switch (what) {
    case 'VAR': {
      const v = lookup(vars, varName);
      return v === undefined ? err('VAR-NOT-SUPPORTED') : { lines: [`VAR ${name} ${varName} ${quote(v)}`] };
    }
    case 'TYPE':
      return lookup(vars, varName) === undefined
        ? err('VAR-NOT-SUPPORTED')
        : { lines: [`TYPE ${name} ${varName} ${typeOf(varName)}`] };
    case 'DESC': // as upsd, whether or not the variable exists
      return { lines: [`DESC ${name} ${varName} ${quote(description(varName))}`] };
    default: // CMDDESC: the HALPI2 has no instant commands
      return { lines: [`CMDDESC ${name} ${varName} ${quote(NO_DESCRIPTION)}`] };
  }
}

/** upsd's order: names compared without regard to case (its variable tree). */
const byName = ([a]: [string, string], [c]: [string, string]): number => {
  const [x, y] = [a.toLowerCase(), c.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The rows of LIST VAR, rendered once for a Map of variables (the backend reuses it between readings). */
const rendered = new WeakMap<Map<string, string>, { name: string; rows: string[] }>();
function varRows(vars: Map<string, string>, name: string): string[] {
  const done = rendered.get(vars);
  if (done?.name === name) return done.rows;
  const rows = [...vars].sort(byName).map(([k, v]) => `VAR ${name} ${k} ${quote(v)}`);
  rendered.set(vars, { name, rows });
  return rows;
}

function list(args: string[], b: NutBackend): Reply {
  if (args.length < 1) return err('INVALID-ARGUMENT');
  const what = args[0]!.toUpperCase();
  if (what === 'UPS') return { lines: ['BEGIN LIST UPS', `UPS ${UPS_NAME} ${quote(UPS_DESC)}`, 'END LIST UPS'] };
  if (args.length < 2) return err('INVALID-ARGUMENT');
  const name = args[1]!;
  const block = (header: string, rows: string[]): Reply => ({
    lines: [`BEGIN LIST ${header}`, ...rows, `END LIST ${header}`],
  });
  switch (what) {
    case 'CLIENT':
      if (!isUps(name)) return err('UNKNOWN-UPS');
      return block(
        `CLIENT ${name}`,
        b.clients().map((c) => `CLIENT ${UPS_NAME} ${c}`),
      );
    case 'VAR':
    case 'RW':
    case 'CMD': {
      if (!isUps(name)) return err('UNKNOWN-UPS');
      const vars = b.variables();
      if (!vars) return err('DATA-STALE');
      // Nothing is writable and there are no instant commands: RW and CMD are empty lists.
      return block(`${what} ${name}`, what === 'VAR' ? varRows(vars, name) : []);
    }
  }
  if (args.length < 3) return err('INVALID-ARGUMENT');
  if (what !== 'ENUM' && what !== 'RANGE') return err('INVALID-ARGUMENT');
  if (!isUps(name)) return err('UNKNOWN-UPS');
  const vars = b.variables();
  if (!vars) return err('DATA-STALE');
  const varName = args[2]!;
  if (lookup(vars, varName) === undefined) return err('VAR-NOT-SUPPORTED');
  // No variable is enumerated or ranged. The header names the variable, as libupsclient expects.
  return block(`${what} ${name} ${varName}`, []);
}

// The upsd network protocol of Network UPS Tools (docs/nut.md), as a pure function of one line
// and the connection's state: tokens with double quotes and backslash escapes, NUT's exact ERR
// replies. One UPS, `halpi2`. The TCP side lives in server.ts.

import { createHash, timingSafeEqual } from 'node:crypto';

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

export function handle(line: string, s: Session, b: NutBackend): Reply {
  const t = tokenize(line);
  if (t === null) return err('INVALID-ARGUMENT');
  if (t.length === 0) return { lines: [] };
  const [cmd, ...args] = t;
  const ups = (name: string | undefined): boolean => name === UPS_NAME;
  switch (cmd!.toUpperCase()) {
    case 'VER':
      return { lines: [`Network UPS Tools upsd ${b.version} (halpid) - https://networkupstools.org/`] };
    case 'NETVER':
      return { lines: [NETVER] };
    case 'HELP':
      return { lines: ['Commands: HELP VER GET LIST LOGIN LOGOUT USERNAME PASSWORD PRIMARY MASTER FSD STARTTLS'] };
    case 'STARTTLS':
      return err('FEATURE-NOT-CONFIGURED');
    case 'LOGOUT':
      return { lines: ['OK Goodbye'], close: true };
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
      if (s.username === undefined) return err('USERNAME-REQUIRED');
      if (s.password === undefined) return err('PASSWORD-REQUIRED');
      if (!ups(args[0])) return err('UNKNOWN-UPS');
      if (!user(s, b)) return denied();
      s.loggedIn = true;
      return { lines: ['OK'] };
    }
    case 'PRIMARY':
    case 'MASTER': {
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      if (!ups(args[0])) return err('UNKNOWN-UPS');
      const u = user(s, b);
      if (!u) return denied();
      if (u.role !== 'primary') return err('ACCESS-DENIED');
      s.primary = true;
      return { lines: [cmd!.toUpperCase() === 'MASTER' ? 'OK MASTER-GRANTED' : 'OK PRIMARY-GRANTED'] };
    }
    case 'FSD': {
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      if (!ups(args[0])) return err('UNKNOWN-UPS');
      // PRIMARY checked the credentials, which cannot change on a connection: a lock-out by
      // someone else's failed guesses must not stop a primary's FSD.
      if (!s.primary) return err('ACCESS-DENIED');
      b.forceShutdown();
      return { lines: ['OK FSD-SET'] };
    }
    case 'GET':
      return get(args, b);
    case 'LIST':
      return list(args, b);
    default:
      return err('UNKNOWN-COMMAND');
  }
}

const denied = (): Reply => ({ ...err('ACCESS-DENIED'), authFailed: true });

const digest = (v: string): Buffer => createHash('sha256').update(v).digest();
/** Equal in constant time: a wrong guess's timing says nothing about the secret or its length. */
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** The user the session's credentials name; undefined when wrong, or unchecked while locked. */
function user(s: Session, b: NutBackend): NutUser | undefined {
  if (s.username === undefined || s.password === undefined || b.authLocked?.()) return undefined;
  return b.users.find((u) => same(u.name, s.username!) && same(u.password, s.password!));
}

function get(args: string[], b: NutBackend): Reply {
  const [what, name, varName] = args;
  switch (what?.toUpperCase()) {
    case 'VAR': {
      if (args.length !== 3) return err('INVALID-ARGUMENT');
      if (name !== UPS_NAME) return err('UNKNOWN-UPS');
      const vars = b.variables();
      if (!vars) return err('DATA-STALE');
      const v = vars.get(varName!);
      if (v === undefined) return err('VAR-NOT-SUPPORTED');
      return { lines: [`VAR ${UPS_NAME} ${varName} ${quote(v)}`] };
    }
    case 'UPSDESC':
      if (args.length !== 2) return err('INVALID-ARGUMENT');
      if (name !== UPS_NAME) return err('UNKNOWN-UPS');
      return { lines: [`UPSDESC ${UPS_NAME} ${quote(UPS_DESC)}`] };
    case 'NUMLOGINS':
      if (args.length !== 2) return err('INVALID-ARGUMENT');
      if (name !== UPS_NAME) return err('UNKNOWN-UPS');
      return { lines: [`NUMLOGINS ${UPS_NAME} ${b.clients().length}`] };
    case 'TYPE':
    case 'DESC':
      if (args.length !== 3) return err('INVALID-ARGUMENT');
      if (name !== UPS_NAME) return err('UNKNOWN-UPS');
      if (!b.variables()?.has(varName!)) return err('VAR-NOT-SUPPORTED');
      return what.toUpperCase() === 'TYPE' ? { lines: [`TYPE ${UPS_NAME} ${varName} STRING:64`] }
        : { lines: [`DESC ${UPS_NAME} ${varName} ${quote('Description unavailable')}`] };
    default:
      return err('INVALID-ARGUMENT');
  }
}

function list(args: string[], b: NutBackend): Reply {
  const [what, name] = args;
  switch (what?.toUpperCase()) {
    case 'UPS':
      if (args.length !== 1) return err('INVALID-ARGUMENT');
      return { lines: ['BEGIN LIST UPS', `UPS ${UPS_NAME} ${quote(UPS_DESC)}`, 'END LIST UPS'] };
    case 'VAR': {
      if (args.length !== 2) return err('INVALID-ARGUMENT');
      if (name !== UPS_NAME) return err('UNKNOWN-UPS');
      const vars = b.variables();
      if (!vars) return err('DATA-STALE');
      const rows = [...vars].sort(([a], [c]) => a.localeCompare(c)).map(([k, v]) => `VAR ${UPS_NAME} ${k} ${quote(v)}`);
      return { lines: [`BEGIN LIST VAR ${UPS_NAME}`, ...rows, `END LIST VAR ${UPS_NAME}`] };
    }
    case 'CLIENT':
      if (args.length !== 2) return err('INVALID-ARGUMENT');
      if (name !== UPS_NAME) return err('UNKNOWN-UPS');
      return { lines: [`BEGIN LIST CLIENT ${UPS_NAME}`, ...b.clients().map((c) => `CLIENT ${UPS_NAME} ${c}`), `END LIST CLIENT ${UPS_NAME}`] };
    case 'CMD':
    case 'RW':
    case 'ENUM':
    case 'RANGE':
      if (args.length < 2) return err('INVALID-ARGUMENT');
      if (name !== UPS_NAME) return err('UNKNOWN-UPS');
      return { lines: [`BEGIN LIST ${what.toUpperCase()} ${UPS_NAME}`, `END LIST ${what.toUpperCase()} ${UPS_NAME}`] };
    default:
      return err('INVALID-ARGUMENT');
  }
}

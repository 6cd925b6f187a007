// The upsd protocol (engine/nut/protocol.ts) at its edges, as a NUT client (upsc, upsmon, upsrw,
// a hostile one) would meet them: every command's argument counts and UPS name, stale data on
// every command that reads the UPS, PRIMARY and FSD with wrong or locked credentials, and what
// ends a connection (authFailed) and what does not.
import t from 'tap';
import { handle, tokenize, type NutBackend, type Reply, type Session } from '../../../engine/nut/protocol.js';

function rig(opts: { stale?: boolean; vars?: Map<string, string>; locked?: () => boolean } = {}) {
  let fsd = 0;
  const vars = opts.vars ?? new Map([['ups.status', 'OL']]);
  const backend: NutBackend = {
    version: '5.1.0',
    users: [
      { name: 'mon', password: 'sec', role: 'secondary' },
      { name: 'admin', password: 'pw', role: 'primary' },
    ],
    variables: () => (opts.stale ? null : vars),
    clients: () => ['127.0.0.1', '::1'],
    forceShutdown: () => {
      fsd++;
    },
    ...(opts.locked ? { authLocked: opts.locked } : {}),
  };
  const session = (): Session => ({ address: '127.0.0.1', loggedIn: false, primary: false });
  const s = session();
  const reply = (line: string, sess = s): Reply => handle(line, sess, backend);
  const say = (line: string, sess = s) => reply(line, sess).lines.join('\n');
  /** A session with these credentials given (not yet logged in). */
  const as = (name: string, password: string) => {
    const u = session();
    say(`USERNAME ${name}`, u);
    say(`PASSWORD ${password}`, u);
    return u;
  };
  return { say, reply, session, as, fsd: () => fsd };
}

t.test('tokens: a tab separates, an escaped character makes a token of its own', async (t) => {
  t.same(tokenize('GET\tVAR\t halpi2'), ['GET', 'VAR', 'halpi2']);
  t.same(tokenize('PASSWORD "a\tb"'), ['PASSWORD', 'a\tb'], 'a quoted tab is kept');
  t.same(tokenize('X \\"'), ['X', '"'], 'a lone escaped quote');
  t.same(tokenize('X \\ '), ['X', ' '], 'an escaped space, last on the line');
  t.same(tokenize('X a"b c"d'), ['X', 'ab cd'], 'quotes inside a token group its spaces');
  t.same(tokenize(''), []);
  t.same(tokenize('   '), []);
  const { say } = rig();
  t.equal(say('GET\tVAR\thalpi2\tups.status'), 'VAR halpi2 ups.status "OL"');
  t.equal(say('   '), 'ERR UNKNOWN-COMMAND', 'only blanks, as an empty line');
  t.equal(say('PASSWORD x\\'), 'ERR INVALID-ARGUMENT', 'a trailing backslash');
});

t.test('commands without arguments refuse extra ones', async (t) => {
  const { say, reply } = rig();
  for (const c of ['NETVER x', 'PROTVER x', 'HELP x', 'VER x y']) t.equal(say(c), 'ERR INVALID-ARGUMENT', c);
  t.equal(say('HELP'), 'Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS');
  t.equal(say('VER'), 'Network UPS Tools upsd 5.1.0 (halpid) - https://networkupstools.org/');
  t.equal(say('protver'), '1.3');
  t.same(reply('NETVER'), { lines: ['1.3'] }, 'an answer does not close the connection');
  t.same(reply('LOGOUT extra'), { lines: ['ERR INVALID-ARGUMENT'] }, 'and LOGOUT with an argument does not either');
  t.same(reply('logout'), { lines: ['OK Goodbye'], close: true });
  t.same(reply('STARTTLS now'), { lines: ['ERR FEATURE-NOT-CONFIGURED'] });
});

t.test('USERNAME and PASSWORD take exactly one argument', async (t) => {
  const { say, session } = rig();
  const s = session();
  t.equal(say('USERNAME a b', s), 'ERR INVALID-ARGUMENT');
  t.equal(say('PASSWORD', s), 'ERR INVALID-ARGUMENT');
  t.equal(say('PASSWORD a b', s), 'ERR INVALID-ARGUMENT');
  t.equal(s.username, undefined, 'nothing kept from a refused USERNAME');
  t.equal(s.password, undefined, 'nor from a refused PASSWORD');
  t.equal(say('PASSWORD first', s), 'OK', 'a password may come before the user name');
  t.equal(say('LOGIN halpi2', s), 'ERR USERNAME-REQUIRED');
  t.equal(say('username mon', s), 'OK');
  t.equal(s.username, 'mon');
  t.equal(s.password, 'first');
});

t.test('every command that needs credentials asks for them, in upsd order', async (t) => {
  const { say, session } = rig();
  for (const c of ['LOGIN halpi2', 'PRIMARY halpi2', 'MASTER halpi2', 'FSD halpi2', 'SET VAR', 'INSTCMD', 'primary']) {
    t.equal(say(c), 'ERR USERNAME-REQUIRED', `${c}: the user name first`);
    const s = session();
    say('USERNAME mon', s);
    t.equal(say(c, s), 'ERR PASSWORD-REQUIRED', `${c}: then the password`);
  }
  for (const c of ['GET VAR halpi2 ups.status', 'LIST VAR halpi2', 'VER', 'LOGOUT'])
    t.notMatch(say(c), /REQUIRED/, `${c}: no credentials needed`);
});

t.test('LOGIN: its argument count, the UPS, and a wrong password ends the connection', async (t) => {
  const { say, reply, as } = rig();
  const s = as('mon', 'sec');
  t.equal(say('LOGIN', s), 'ERR INVALID-ARGUMENT');
  t.equal(say('LOGIN halpi2 extra', s), 'ERR INVALID-ARGUMENT');
  t.equal(say('LOGIN nope', s), 'ERR UNKNOWN-UPS');
  t.equal(s.loggedIn, false, 'no login from a refused LOGIN');
  t.same(reply('LOGIN HALPI2', s), { lines: ['OK'] }, 'the UPS name in any case');
  t.equal(s.loggedIn, true);
  t.same(reply('LOGIN halpi2', s), { lines: ['ERR ALREADY-LOGGED-IN'] }, 'not an auth failure');
  t.same(
    reply('LOGIN halpi2', as('mon', 'pw')),
    { lines: ['ERR ACCESS-DENIED'], authFailed: true },
    "another user's password",
  );
  t.same(reply('LOGIN halpi2', as('admin', 'sec')), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
  t.same(reply('LOGIN halpi2', as('nobody', 'pw')), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
  t.same(
    reply('LOGIN halpi2', as('MON', 'sec')),
    { lines: ['ERR ACCESS-DENIED'], authFailed: true },
    'names are exact',
  );
});

t.test('while logins are locked, even right credentials are refused unchecked', async (t) => {
  let locked = true;
  const r = rig({ locked: () => locked });
  const s = r.as('mon', 'sec');
  t.same(r.reply('LOGIN halpi2', s), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
  t.equal(s.loggedIn, false);
  const p = r.as('admin', 'pw');
  t.same(r.reply('PRIMARY halpi2', p), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
  t.same(r.reply('FSD halpi2', p), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
  t.equal(r.fsd(), 0, 'no FSD');
  locked = false;
  t.same(r.reply('LOGIN halpi2', s), { lines: ['OK'] }, 'unlocked: the same session logs in');
});

t.test('PRIMARY and MASTER: argument count, UPS, role', async (t) => {
  const { say, reply, as } = rig();
  for (const cmd of ['PRIMARY', 'MASTER']) {
    const p = as('admin', 'pw');
    t.equal(say(`${cmd}`, p), 'ERR INVALID-ARGUMENT');
    t.equal(say(`${cmd} halpi2 x`, p), 'ERR INVALID-ARGUMENT');
    t.equal(say(`${cmd} other`, p), 'ERR UNKNOWN-UPS');
    t.equal(p.primary, false, 'nothing granted by a refused command');
    const sec = as('mon', 'sec');
    t.same(
      reply(`${cmd} halpi2`, sec),
      { lines: ['ERR ACCESS-DENIED'] },
      `${cmd}: a secondary is refused, not cut off`,
    );
    t.equal(sec.primary, false);
    t.same(reply(`${cmd} halpi2`, as('admin', 'nope')), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
    t.equal(say(`${cmd.toLowerCase()} Halpi2`, p), `OK ${cmd}-GRANTED`);
    t.equal(p.primary, true);
  }
  t.equal(say('PRIMARY halpi2', as('admin', 'pw')), 'OK PRIMARY-GRANTED', 'without LOGIN, as upsd');
});

t.test('FSD: who may set it, on which UPS, and it is set once per command', async (t) => {
  const r = rig();
  const p = r.as('admin', 'pw');
  t.equal(r.say('FSD', p), 'ERR INVALID-ARGUMENT');
  t.equal(r.say('FSD halpi2 now', p), 'ERR INVALID-ARGUMENT');
  t.equal(r.say('FSD ups2', p), 'ERR UNKNOWN-UPS');
  t.equal(r.fsd(), 0, 'no FSD from a refused command');
  t.same(r.reply('FSD halpi2', r.as('mon', 'sec')), { lines: ['ERR ACCESS-DENIED'] }, 'a secondary');
  t.same(r.reply('FSD halpi2', r.as('admin', 'x')), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
  t.equal(r.fsd(), 0);
  t.same(r.reply('fsd HALPI2', p), { lines: ['OK FSD-SET'] });
  t.equal(r.fsd(), 1);
});

t.test('a primary granted before a lock-out keeps FSD; one not yet granted does not', async (t) => {
  let locked = false;
  const r = rig({ locked: () => locked });
  const granted = r.as('admin', 'pw');
  t.equal(r.say('PRIMARY halpi2', granted), 'OK PRIMARY-GRANTED');
  const notYet = r.as('admin', 'pw');
  locked = true;
  t.equal(r.say('FSD halpi2', granted), 'OK FSD-SET');
  t.equal(r.fsd(), 1);
  t.same(r.reply('FSD halpi2', notYet), { lines: ['ERR ACCESS-DENIED'], authFailed: true });
  t.equal(r.fsd(), 1);
  t.equal(r.say('PRIMARY halpi2', granted), 'ERR ACCESS-DENIED', 'no PRIMARY again while locked');
});

t.test('stale data: every command that reads the UPS says DATA-STALE, the rest still answer', async (t) => {
  const r = rig({ stale: true });
  const s = r.as('mon', 'sec');
  for (const c of [
    'GET VAR halpi2 ups.status',
    'GET TYPE halpi2 ups.status',
    'GET DESC halpi2 ups.status',
    'GET CMDDESC halpi2 load.off',
    'GET NUMLOGINS halpi2',
    'LIST VAR halpi2',
    'LIST RW halpi2',
    'LIST CMD halpi2',
    'LIST ENUM halpi2 ups.status',
    'LIST RANGE halpi2 ups.status',
    'INSTCMD halpi2 load.off',
    'SET VAR halpi2 ups.status x',
  ])
    t.equal(r.say(c, s), 'ERR DATA-STALE', c);
  t.equal(r.say('LIST UPS'), 'BEGIN LIST UPS\nUPS halpi2 "HALPI2 supercapacitor UPS"\nEND LIST UPS');
  t.equal(r.say('GET UPSDESC halpi2'), 'UPSDESC halpi2 "HALPI2 supercapacitor UPS"');
  t.equal(r.say('GET VAR halpi2 server.version'), 'VAR halpi2 server.version "5.1.0"');
  t.equal(
    r.say('LIST CLIENT halpi2'),
    'BEGIN LIST CLIENT halpi2\nCLIENT halpi2 127.0.0.1\nCLIENT halpi2 ::1\nEND LIST CLIENT halpi2',
  );
  t.equal(r.say('LOGIN halpi2', s), 'OK', 'upsmon may log in while the data is stale');
  // The UPS name is checked before staleness, as upsd.
  t.equal(r.say('GET VAR other ups.status'), 'ERR UNKNOWN-UPS');
  t.equal(r.say('LIST VAR other'), 'ERR UNKNOWN-UPS');
  t.equal(r.say('GET NUMLOGINS other'), 'ERR UNKNOWN-UPS');
  t.equal(r.say('INSTCMD other load.off', s), 'ERR UNKNOWN-UPS');
  t.equal(r.say('SET VAR other ups.status x', s), 'ERR UNKNOWN-UPS');
  t.equal(r.say('LIST ENUM other ups.status'), 'ERR UNKNOWN-UPS');
});

t.test('SET: only TRACKING is taken, in any case; SET VAR is refused to everyone', async (t) => {
  const r = rig();
  const s = r.as('admin', 'pw');
  t.equal(r.say('PRIMARY halpi2', s), 'OK PRIMARY-GRANTED');
  t.equal(r.say('SET', s), 'ERR INVALID-ARGUMENT');
  t.equal(r.say('SET VAR', s), 'ERR INVALID-ARGUMENT');
  t.equal(r.say('SET TRACKING', s), 'ERR INVALID-ARGUMENT');
  t.equal(r.say('SET FOO bar', s), 'ERR INVALID-ARGUMENT');
  t.equal(r.say('SET FOO ON', s), 'ERR INVALID-ARGUMENT', 'only TRACKING takes ON');
  t.equal(r.say('GET TRACKING', s), 'OFF');
  t.equal(r.say('SET VAR halpi2 ups.status', s), 'ERR INVALID-ARGUMENT', 'no value');
  t.same(r.reply('set var halpi2 ups.status OB', s), { lines: ['ERR ACCESS-DENIED'] }, 'even a primary; not cut off');
  t.equal(r.say('GET VAR halpi2 ups.status', s), 'VAR halpi2 ups.status "OL"', 'nothing changed');
  t.equal(r.say('set tracking on', s), 'OK');
  t.equal(r.say('GET TRACKING', s), 'ON');
  t.equal(r.say('get tracking 1', s), 'ERR UNKNOWN');
  t.equal(r.say('SET TRACKING off', s), 'OK');
  t.equal(r.say('get tracking', s), 'OFF');
  t.equal(r.say('SET TRACKING ONE', s), 'ERR INVALID-ARGUMENT');
  t.equal(r.say('GET TRACKING', s), 'OFF', 'a refused value changes nothing');
  t.equal(r.say('INSTCMD halpi2 load.off now', s), 'ERR CMD-NOT-SUPPORTED', 'extra arguments ignored');
  t.equal(r.say('instcmd HALPI2 load.off', s), 'ERR CMD-NOT-SUPPORTED');
});

t.test('GET: argument counts, kinds and UPS names', async (t) => {
  const { say } = rig({
    vars: new Map([
      ['ups.status', 'OL'],
      ['battery.charge', '80'],
    ]),
  });
  for (const c of ['GET UPSDESC', 'GET NUMLOGINS', 'GET TYPE halpi2', 'GET DESC halpi2', 'GET CMDDESC halpi2'])
    t.equal(say(c), 'ERR INVALID-ARGUMENT', c);
  t.equal(say('GET FOO halpi2 ups.status'), 'ERR INVALID-ARGUMENT', 'an unknown kind');
  t.equal(say('GET FOO halpi2'), 'ERR INVALID-ARGUMENT');
  t.equal(say('GET UPSDESC other'), 'ERR UNKNOWN-UPS');
  for (const c of ['GET TYPE other ups.status', 'GET DESC other ups.status', 'GET CMDDESC other load.off'])
    t.equal(say(c), 'ERR UNKNOWN-UPS', c);
  t.equal(say('get upsdesc halpi2'), 'UPSDESC halpi2 "HALPI2 supercapacitor UPS"');
  t.equal(say('get numlogins HALPI2'), 'NUMLOGINS HALPI2 2');
  t.equal(say('get type halpi2 BATTERY.CHARGE'), 'TYPE halpi2 BATTERY.CHARGE NUMBER', 'the variable in any case');
  t.equal(say('get desc halpi2 ups.status'), 'DESC halpi2 ups.status "UPS status"');
  t.equal(say('get cmddesc halpi2 x'), 'CMDDESC halpi2 x "Description unavailable"');
  t.equal(say('get var halpi2 battery.charge'), 'VAR halpi2 battery.charge "80"');
});

t.test("upsd's own variables: server.info and server.version, in any case, only with GET VAR", async (t) => {
  const { say } = rig({ stale: true });
  t.equal(
    say('GET VAR halpi2 SERVER.INFO'),
    'VAR halpi2 server.info "Network UPS Tools upsd 5.1.0 (halpid) - https://networkupstools.org/"',
  );
  t.equal(say('get var X Server.Version'), 'VAR X server.version "5.1.0"');
  t.equal(say('GET VAR halpi2 server.other'), 'ERR VAR-NOT-SUPPORTED');
  t.equal(say('GET VAR halpi2 server.'), 'ERR VAR-NOT-SUPPORTED');
  // Not a server variable for the other kinds: they go to the UPS (stale here).
  t.equal(say('GET TYPE halpi2 server.info'), 'ERR DATA-STALE');
  t.equal(say('GET DESC halpi2 server.version'), 'ERR DATA-STALE');
  const fresh = rig();
  t.equal(fresh.say('GET TYPE halpi2 server.info'), 'ERR VAR-NOT-SUPPORTED');
  t.equal(fresh.say('GET DESC halpi2 server.info'), 'DESC halpi2 server.info "Server information"');
  t.equal(fresh.say('GET VAR halpi2 xserver.info'), 'ERR VAR-NOT-SUPPORTED', 'only a server. prefix');
});

t.test('LIST: argument counts, kinds and UPS names', async (t) => {
  const { say } = rig();
  t.equal(say('list ups'), 'BEGIN LIST UPS\nUPS halpi2 "HALPI2 supercapacitor UPS"\nEND LIST UPS');
  t.equal(say('LIST UPS extra'), 'BEGIN LIST UPS\nUPS halpi2 "HALPI2 supercapacitor UPS"\nEND LIST UPS');
  for (const c of ['LIST VAR', 'LIST CLIENT', 'LIST RW', 'LIST CMD', 'LIST ENUM', 'LIST FOO', 'LIST FOO halpi2'])
    t.equal(say(c), 'ERR INVALID-ARGUMENT', c);
  t.equal(say('LIST FOO halpi2 ups.status'), 'ERR INVALID-ARGUMENT', 'an unknown kind');
  for (const c of ['LIST CLIENT other', 'LIST RW other', 'LIST CMD other', 'LIST RANGE other ups.status'])
    t.equal(say(c), 'ERR UNKNOWN-UPS', c);
  t.equal(say('list rw halpi2'), 'BEGIN LIST RW halpi2\nEND LIST RW halpi2');
  t.equal(say('list cmd HALPI2'), 'BEGIN LIST CMD HALPI2\nEND LIST CMD HALPI2');
  t.equal(say('list var halpi2'), 'BEGIN LIST VAR halpi2\nVAR halpi2 ups.status "OL"\nEND LIST VAR halpi2');
  t.equal(say('list enum halpi2 UPS.STATUS'), 'BEGIN LIST ENUM halpi2 UPS.STATUS\nEND LIST ENUM halpi2 UPS.STATUS');
  t.equal(say('LIST RANGE halpi2 nothing'), 'ERR VAR-NOT-SUPPORTED');
});

t.test('LIST VAR: sorted without regard to case, and each UPS spelling echoed from the same reading', async (t) => {
  // One Map, as the backend reuses it between readings.
  const vars = new Map([
    ['ups.status', 'OL'],
    ['Battery.voltage', '5.0'],
    ['battery.charge', '80'],
    ['input.voltage', '12.1'],
  ]);
  const { say } = rig({ vars });
  const rows = (ups: string) => say(`LIST VAR ${ups}`).split('\n');
  t.same(rows('halpi2'), [
    'BEGIN LIST VAR halpi2',
    'VAR halpi2 battery.charge "80"',
    'VAR halpi2 Battery.voltage "5.0"',
    'VAR halpi2 input.voltage "12.1"',
    'VAR halpi2 ups.status "OL"',
    'END LIST VAR halpi2',
  ]);
  t.equal(rows('HALPI2')[1], 'VAR HALPI2 battery.charge "80"', 'the second spelling, not the first one cached');
  t.equal(rows('halpi2')[4], 'VAR halpi2 ups.status "OL"');
});

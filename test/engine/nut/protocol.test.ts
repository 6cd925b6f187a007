// The upsd protocol (engine/nut/protocol.ts): every command, NUT's ERR replies, quoting and
// escaping, and who may log in, become primary and set FSD.
import t from 'tap';
import { handle, quote, tokenize, type NutBackend, type Session } from '../../../engine/nut/protocol.js';

function rig(opts: { stale?: boolean } = {}) {
  let fsd = 0;
  const backend: NutBackend = {
    version: '5.1.0',
    users: [{ name: 'monuser', password: 'se"cret', role: 'secondary' }, { name: 'admin', password: 'pw', role: 'primary' }],
    variables: () => (opts.stale ? null : new Map([['ups.status', 'OL'], ['battery.charge', '100'], ['device.model', 'HALPI2 "v2"']])),
    clients: () => ['127.0.0.1'],
    forceShutdown: () => { fsd++; },
  };
  const session = (): Session => ({ address: '127.0.0.1', loggedIn: false, primary: false });
  const s = session();
  const say = (line: string, sess = s) => handle(line, sess, backend).lines.join('\n');
  return { say, session, fsd: () => fsd };
}

t.test('tokens: spaces, quotes, backslash escapes', async (t) => {
  t.same(tokenize('GET VAR halpi2 ups.status'), ['GET', 'VAR', 'halpi2', 'ups.status']);
  t.same(tokenize('PASSWORD "two words"'), ['PASSWORD', 'two words']);
  t.same(tokenize('PASSWORD "a\\"b\\\\c"'), ['PASSWORD', 'a"b\\c']);
  t.same(tokenize('  LIST   UPS  '), ['LIST', 'UPS']);
  t.same(tokenize('PASSWORD ""'), ['PASSWORD', '']);
  t.equal(tokenize('PASSWORD "open'), null, 'an unclosed quote');
  t.equal(tokenize('PASSWORD x\\'), null, 'a trailing backslash');
  t.equal(quote('HALPI2 "v2" \\ x'), '"HALPI2 \\"v2\\" \\\\ x"');
});

t.test('read-only commands need no login', async (t) => {
  const { say } = rig();
  t.match(say('VER'), /^Network UPS Tools upsd 5\.1\.0 /);
  t.equal(say('NETVER'), '1.3');
  t.match(say('HELP'), /^Commands: HELP VER GET LIST/);
  t.equal(say('LIST UPS'), 'BEGIN LIST UPS\nUPS halpi2 "HALPI2 supercapacitor UPS"\nEND LIST UPS');
  t.equal(say('LIST VAR halpi2'), 'BEGIN LIST VAR halpi2\nVAR halpi2 battery.charge "100"\nVAR halpi2 device.model "HALPI2 \\"v2\\""\nVAR halpi2 ups.status "OL"\nEND LIST VAR halpi2');
  t.equal(say('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"');
  t.equal(say('get var halpi2 ups.status'), 'VAR halpi2 ups.status "OL"', 'commands in any case');
  t.equal(say('GET UPSDESC halpi2'), 'UPSDESC halpi2 "HALPI2 supercapacitor UPS"');
  t.equal(say('GET NUMLOGINS halpi2'), 'NUMLOGINS halpi2 1');
  t.equal(say('LIST CLIENT halpi2'), 'BEGIN LIST CLIENT halpi2\nCLIENT halpi2 127.0.0.1\nEND LIST CLIENT halpi2');
  t.equal(say('LIST CMD halpi2'), 'BEGIN LIST CMD halpi2\nEND LIST CMD halpi2');
  t.equal(say('LIST RW halpi2'), 'BEGIN LIST RW halpi2\nEND LIST RW halpi2');
  t.equal(say('GET TYPE halpi2 ups.status'), 'TYPE halpi2 ups.status STRING:64');
  t.equal(say('STARTTLS'), 'ERR FEATURE-NOT-CONFIGURED');
  t.equal(say(''), '');
});

t.test('NUT\'s error replies', async (t) => {
  const { say } = rig();
  t.equal(say('FROB'), 'ERR UNKNOWN-COMMAND');
  t.equal(say('GET VAR other ups.status'), 'ERR UNKNOWN-UPS');
  t.equal(say('LIST VAR other'), 'ERR UNKNOWN-UPS');
  t.equal(say('GET VAR halpi2 ups.nothing'), 'ERR VAR-NOT-SUPPORTED');
  t.equal(say('GET VAR halpi2'), 'ERR INVALID-ARGUMENT');
  t.equal(say('GET'), 'ERR INVALID-ARGUMENT');
  t.equal(say('LIST'), 'ERR INVALID-ARGUMENT');
  t.equal(say('LIST UPS extra'), 'ERR INVALID-ARGUMENT');
  t.equal(say('USERNAME'), 'ERR INVALID-ARGUMENT');
  t.equal(say('GET VAR "halpi2'), 'ERR INVALID-ARGUMENT', 'an unclosed quote');
  const stale = rig({ stale: true });
  t.equal(stale.say('GET VAR halpi2 ups.status'), 'ERR DATA-STALE');
  t.equal(stale.say('LIST VAR halpi2'), 'ERR DATA-STALE');
});

t.test('login: username and password first, a known user, one login per session', async (t) => {
  const { say, session } = rig();
  const s = session();
  t.equal(say('LOGIN halpi2', s), 'ERR USERNAME-REQUIRED');
  t.equal(say('USERNAME monuser', s), 'OK');
  t.equal(say('USERNAME again', s), 'ERR ALREADY-SET-USERNAME');
  t.equal(say('LOGIN halpi2', s), 'ERR PASSWORD-REQUIRED');
  t.equal(say('PASSWORD "se\\"cret"', s), 'OK');
  t.equal(say('PASSWORD again', s), 'ERR ALREADY-SET-PASSWORD');
  t.equal(say('LOGIN other', s), 'ERR UNKNOWN-UPS');
  t.equal(say('LOGIN halpi2', s), 'OK');
  t.equal(say('LOGIN halpi2', s), 'ERR ALREADY-LOGGED-IN');
  t.equal(say('PRIMARY halpi2', s), 'ERR ACCESS-DENIED', 'a secondary is not primary');
  t.equal(say('FSD halpi2', s), 'ERR ACCESS-DENIED');
  const wrong = session();
  say('USERNAME monuser', wrong);
  say('PASSWORD nope', wrong);
  t.equal(say('LOGIN halpi2', wrong), 'ERR ACCESS-DENIED', 'a wrong password');
  t.same(handle('LOGOUT', s, { version: '', users: [], variables: () => null, clients: () => [], forceShutdown() {} }), { lines: ['OK Goodbye'], close: true });
});

t.test('a primary may set FSD', async (t) => {
  const r = rig();
  const s = r.session();
  r.say('USERNAME admin', s);
  r.say('PASSWORD pw', s);
  t.equal(r.say('FSD halpi2', s), 'ERR ACCESS-DENIED', 'not before PRIMARY');
  t.equal(r.say('PRIMARY halpi2', s), 'OK PRIMARY-GRANTED');
  t.equal(r.say('MASTER halpi2', s), 'OK MASTER-GRANTED', 'the old name');
  t.equal(r.say('FSD halpi2', s), 'OK FSD-SET');
  t.equal(r.fsd(), 1);
});

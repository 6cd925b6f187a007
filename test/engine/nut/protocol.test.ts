// The upsd protocol (engine/nut/protocol.ts): every command, NUT's ERR replies, quoting and
// escaping, and who may log in, become primary and set FSD.
import t from 'tap';
import { handle, quote, tokenize, type NutBackend, type Session } from '../../../engine/nut/protocol.js';

function rig(opts: { stale?: boolean } = {}) {
  let fsd = 0;
  const backend: NutBackend = {
    version: '5.1.0',
    users: [
      { name: 'monuser', password: 'se"cret', role: 'secondary' },
      { name: 'admin', password: 'pw', role: 'primary' },
    ],
    variables: () =>
      opts.stale
        ? null
        : new Map([
            ['ups.status', 'OL'],
            ['battery.charge', '100'],
            ['device.model', 'HALPI2 "v2"'],
          ]),
    clients: () => ['127.0.0.1'],
    forceShutdown: () => {
      fsd++;
    },
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
  t.equal(
    say('LIST VAR halpi2'),
    'BEGIN LIST VAR halpi2\nVAR halpi2 battery.charge "100"\nVAR halpi2 device.model "HALPI2 \\"v2\\""\nVAR halpi2 ups.status "OL"\nEND LIST VAR halpi2',
  );
  t.equal(say('GET VAR halpi2 ups.status'), 'VAR halpi2 ups.status "OL"');
  t.equal(say('get var halpi2 ups.status'), 'VAR halpi2 ups.status "OL"', 'commands in any case');
  t.equal(say('GET UPSDESC halpi2'), 'UPSDESC halpi2 "HALPI2 supercapacitor UPS"');
  t.equal(say('GET NUMLOGINS halpi2'), 'NUMLOGINS halpi2 1');
  t.equal(say('LIST CLIENT halpi2'), 'BEGIN LIST CLIENT halpi2\nCLIENT halpi2 127.0.0.1\nEND LIST CLIENT halpi2');
  t.equal(say('LIST CMD halpi2'), 'BEGIN LIST CMD halpi2\nEND LIST CMD halpi2');
  t.equal(say('LIST RW halpi2'), 'BEGIN LIST RW halpi2\nEND LIST RW halpi2');
  t.equal(say('GET TYPE halpi2 ups.status'), 'TYPE halpi2 ups.status STRING:64');
  t.equal(say('STARTTLS'), 'ERR FEATURE-NOT-CONFIGURED');
  t.equal(say(''), 'ERR UNKNOWN-COMMAND', 'an empty line, as upsd');
});

t.test("NUT's error replies", async (t) => {
  const { say } = rig();
  t.equal(say('FROB'), 'ERR UNKNOWN-COMMAND');
  t.equal(say('GET VAR other ups.status'), 'ERR UNKNOWN-UPS');
  t.equal(say('LIST VAR other'), 'ERR UNKNOWN-UPS');
  t.equal(say('GET VAR halpi2 ups.nothing'), 'ERR VAR-NOT-SUPPORTED');
  t.equal(say('GET VAR halpi2'), 'ERR INVALID-ARGUMENT');
  t.equal(say('GET'), 'ERR INVALID-ARGUMENT');
  t.equal(say('LIST'), 'ERR INVALID-ARGUMENT');
  t.equal(say('VER extra'), 'ERR INVALID-ARGUMENT');
  t.equal(say('LOGOUT extra'), 'ERR INVALID-ARGUMENT');
  t.equal(say('GET VAR halpi2 ups.status extra'), 'VAR halpi2 ups.status "OL"', 'extra arguments ignored, as upsd');
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
  t.same(
    handle('LOGOUT', s, { version: '', users: [], variables: () => null, clients: () => [], forceShutdown() {} }),
    { lines: ['OK Goodbye'], close: true },
  );
});

t.test('a primary may set FSD', async (t) => {
  const r = rig();
  const s = r.session();
  r.say('USERNAME admin', s);
  r.say('PASSWORD pw', s);
  t.equal(r.say('PRIMARY halpi2', s), 'OK PRIMARY-GRANTED');
  t.equal(r.say('MASTER halpi2', s), 'OK MASTER-GRANTED', 'the old name');
  t.equal(r.say('FSD halpi2', s), 'OK FSD-SET');
  t.equal(r.fsd(), 1);
  const direct = r.session();
  r.say('USERNAME admin', direct);
  r.say('PASSWORD pw', direct);
  t.equal(r.say('FSD HALPI2', direct), 'OK FSD-SET', 'as upsd, a primary user needs no PRIMARY first');
  t.equal(r.fsd(), 2);
});

t.test("NUT 2.8's commands answer NUT's own errors, never UNKNOWN-COMMAND", async (t) => {
  const { say, session } = rig();
  t.equal(say('PROTVER'), '1.3', 'the new name of NETVER');
  t.equal(say('GET TRACKING'), 'OFF');
  t.equal(say('GET TRACKING 0123'), 'ERR FEATURE-NOT-CONFIGURED');
  for (const c of [
    'SET TRACKING ON',
    'SET VAR halpi2 battery.charge 5',
    'INSTCMD halpi2 load.off',
    'FSD halpi2',
    'LOGIN',
  ]) {
    t.equal(say(c), 'ERR USERNAME-REQUIRED', `${c}: credentials first, as upsd`);
  }
  const s = session();
  say('USERNAME monuser', s);
  t.equal(say('SET TRACKING ON', s), 'ERR PASSWORD-REQUIRED');
  say('PASSWORD whatever', s);
  t.equal(say('SET TRACKING ON', s), 'OK');
  t.equal(say('GET TRACKING', s), 'ON');
  t.equal(say('GET TRACKING 0123', s), 'ERR UNKNOWN', 'nothing is ever tracked');
  t.equal(say('SET TRACKING maybe', s), 'ERR INVALID-ARGUMENT');
  t.equal(say('SET TRACKING OFF', s), 'OK');
  t.equal(say('SET VAR halpi2 battery.charge', s), 'ERR INVALID-ARGUMENT');
  t.equal(say('SET VAR other battery.charge 5', s), 'ERR UNKNOWN-UPS');
  t.equal(say('SET VAR halpi2 battery.charge 5', s), 'ERR ACCESS-DENIED', 'nobody may SET');
  t.equal(say('INSTCMD halpi2', s), 'ERR INVALID-ARGUMENT');
  t.equal(say('INSTCMD halpi2 load.off', s), 'ERR CMD-NOT-SUPPORTED', 'no instant commands');
  t.equal(say('LOGIN halpi2', s), 'ERR ACCESS-DENIED', 'a wrong password still fails');
});

t.test('types, descriptions and lists as upsd gives them', async (t) => {
  const { say } = rig();
  t.equal(say('GET TYPE halpi2 battery.charge'), 'TYPE halpi2 battery.charge NUMBER');
  t.equal(say('GET TYPE halpi2 ups.status'), 'TYPE halpi2 ups.status STRING:64');
  t.equal(say('GET TYPE halpi2 ups.nothing'), 'ERR VAR-NOT-SUPPORTED');
  t.equal(say('GET DESC halpi2 battery.charge'), 'DESC halpi2 battery.charge "Battery charge (percent of full)"');
  t.equal(
    say('GET DESC halpi2 ups.nothing'),
    'DESC halpi2 ups.nothing "Description unavailable"',
    'upsd does not check the name',
  );
  for (const name of ['__proto__', 'constructor']) {
    t.equal(
      say(`GET DESC halpi2 ${name}`),
      `DESC halpi2 ${name} "Description unavailable"`,
      `not ERR UNKNOWN: ${name}`,
    );
  }
  t.equal(say('GET CMDDESC halpi2 load.off'), 'CMDDESC halpi2 load.off "Description unavailable"');
  t.equal(
    say('LIST ENUM halpi2 ups.status'),
    'BEGIN LIST ENUM halpi2 ups.status\nEND LIST ENUM halpi2 ups.status',
    'the header names the variable',
  );
  t.equal(
    say('LIST RANGE halpi2 battery.charge'),
    'BEGIN LIST RANGE halpi2 battery.charge\nEND LIST RANGE halpi2 battery.charge',
  );
  t.equal(say('LIST ENUM halpi2'), 'ERR INVALID-ARGUMENT');
  t.equal(say('LIST ENUM halpi2 ups.nothing'), 'ERR VAR-NOT-SUPPORTED');
  t.equal(
    say('GET VAR other server.version'),
    'VAR other server.version "5.1.0"',
    "upsd's own variables, whatever the UPS",
  );
  t.match(say('GET VAR halpi2 server.info'), /^VAR halpi2 server\.info "Network UPS Tools upsd 5\.1\.0 /);
});

t.test('the UPS name in any case, echoed as the client spelt it', async (t) => {
  const { say } = rig();
  t.equal(say('GET VAR HALPI2 ups.status'), 'VAR HALPI2 ups.status "OL"');
  t.equal(say('GET VAR halpi2 UPS.STATUS'), 'VAR halpi2 UPS.STATUS "OL"', 'variable names too');
  t.equal(say('LIST VAR Halpi2').split('\n')[0], 'BEGIN LIST VAR Halpi2');
  t.equal(say('LIST CLIENT HALPI2'), 'BEGIN LIST CLIENT HALPI2\nCLIENT halpi2 127.0.0.1\nEND LIST CLIENT HALPI2');
  t.equal(say('GET UPSDESC HalPi2'), 'UPSDESC HalPi2 "HALPI2 supercapacitor UPS"');
});

// Conformance with the real upsd: Debian's NUT 2.8 upsd serving halpid's own variables through the
// dummy-ups driver, and halpid --nut, are sent the same conversations; the answers must be the
// same once the values are normalised, except for the differences docs/nut.md lists as
// deliberate (DELIBERATE below, each with its reason). Debian's libupsclient tools (upsc, upsrw,
// upscmd) must print the same against both.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';
import { CLOSED, converse, DUMMY_UPS, startUpsd, UPSD, type Answer, type Upsd } from '../helpers/nut.js';
import { tempDir } from '../helpers/tmp.js';

const have = existsSync(UPSD) && existsSync(DUMMY_UPS) && spawnSync('sh', ['-c', 'command -v upsc']).status === 0;
const skip =
  !have && process.env.HALPI2_REQUIRE_NUT !== '1'
    ? 'no upsd/dummy-ups/upsc: apt-get install nut-server nut-client'
    : false;

let d: RunningDaemon;
let upsd: Upsd;
let ours = 0;
const dir = tempDir('halpi2-upsd-');

t.before(async () => {
  if (skip) return;
  ours = await freePort();
  const conf = join(dir, 'halpid.conf');
  writeFileSync(conf, 'nut-user: monuser\nnut-password: s3cret\nnut-primary: true\n');
  d = await startDaemon(['-c', conf, '--nut', `127.0.0.1:${ours}`]);
  // upsd serves the variables halpid serves now.
  const [list] = await converse(ours, ['LIST VAR halpi2']);
  const vars = new Map(
    list!.slice(1, -1).map((l) => {
      const m = /^VAR halpi2 (\S+) "(.*)"$/.exec(l)!;
      return [m[1]!, m[2]!.replace(/\\(.)/g, '$1')];
    }),
  );
  upsd = await startUpsd({
    dir,
    port: await freePort(),
    name: 'halpi2',
    desc: 'HALPI2 supercapacitor UPS',
    vars,
    users: '[monuser]\n  password = s3cret\n  upsmon primary\n',
  });
});
t.teardown(async () => {
  await upsd?.stop();
  await d?.stop();
});

/** Values change from one reading to the next, and versions differ: compare the form only. */
function normalise(line: string): string {
  return line
    .replace(/^(VAR|RW) (\S+) (\S+) ".*"$/, '$1 $2 $3 "…"')
    .replace(
      /Network UPS Tools upsd .* - https?:\/\/(www\.)?networkupstools\.org\//,
      'Network UPS Tools upsd <version>',
    )
    .replace(/ STRING:\d+$/, ' STRING:n');
}

/**
 * What dummy-ups adds that a HALPI2 has not (the driver makes every variable writable so that a
 * test can change it, has one command, and reports its own parameters), taken out of upsd's
 * answers before they are compared.
 */
function dummyArtifacts(line: string): string | null {
  if (/^RW /.test(line) || /^CMD \S+ load\.off$/.test(line)) return null;
  if (/^VAR \S+ driver\.(parameter\.\S+|version\.internal) /.test(line)) return null;
  return line.replace(/^(TYPE .*) RW /, '$1 ');
}

/** The differences docs/nut.md lists as deliberate: true when this pair of answers is one of them. */
const DELIBERATE: Array<{ why: string; is: (ours: Answer, upsd: Answer, oursBefore: Answer) => boolean }> = [
  {
    why: "descriptions of device.* from NUT 2.8.3's cmdvartab, which 2.8.0 lacks",
    is: (o, u) => /^DESC \S+ device\.\S+ "Device /.test(o[0] ?? '') && /"Description unavailable"$/.test(u[0] ?? ''),
  },
  {
    // upsd repeats the driver's flags: dummy-ups makes a name it does not know a string, and a
    // driver publishes driver.name and driver.version unflagged, which upsd calls NUMBER.
    why: 'TYPE says what the value is: NUMBER for numbers, STRING:n for text',
    is: (o, u) => {
      const m = /^TYPE \S+ (input\.current|driver\.name|driver\.version) (NUMBER|STRING:n)$/.exec(o[0] ?? '');
      return m !== null && u[0] === `TYPE halpi2 ${m[1]} ${m[2] === 'NUMBER' ? 'STRING:n' : 'NUMBER'}`;
    },
  },
  {
    why: 'wrong credentials end the connection (a guess costs a connection)',
    is: (o, u, before) => before[0] === 'ERR ACCESS-DENIED' && o[0] === CLOSED && u[0] !== CLOSED,
  },
];

/** The deliberate differences met: each must still be one (else docs/nut.md's list is stale). */
const seen = new Set<string>();

async function compare(t: Test, name: string, commands: string[]) {
  const [a, b] = await Promise.all([converse(ours, commands), converse(upsd.port, commands)]);
  const fix = (answers: Answer[], artifacts: boolean) =>
    answers.map((ans) =>
      ans
        .map((l) => (artifacts ? dummyArtifacts(l) : l))
        .filter((l): l is string => l !== null)
        .map(normalise),
    );
  const [o, u] = [fix(a, false), fix(b, true)];
  const diffs: string[] = [];
  for (let i = 0; i < commands.length; i++) {
    const [x, y] = [o[i] ?? [], u[i] ?? []];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const known = DELIBERATE.find((dl) => dl.is(x, y, o[i - 1] ?? []));
    if (known) {
      seen.add(known.why);
      continue;
    }
    diffs.push(`> ${commands[i]}\n  halpid: ${x.join(' | ')}\n  upsd:   ${y.join(' | ')}`);
  }
  t.same(diffs, [], `${name}: the same answers as upsd`);
}

const VARS = [
  'ups.status',
  'battery.charge',
  'battery.runtime',
  'battery.runtime.low',
  'battery.voltage',
  'input.voltage',
  'input.current',
  'ups.temperature',
  'device.mfr',
  'device.model',
  'device.serial',
  'device.type',
  'ups.mfr',
  'ups.model',
  'ups.firmware',
  'driver.name',
  'driver.version',
];

t.test('reading: versions, lists, variables, types, descriptions, errors', { skip }, async (t) => {
  await compare(t, 'basics', [
    'VER',
    'NETVER',
    'PROTVER',
    'HELP',
    'VER extra',
    'NETVER extra',
    '',
    'FROB',
    'GET',
    'LIST',
    'GET FROB',
    'LIST FROB',
    'GET FROB halpi2 x',
    'LIST FROB halpi2 x',
    'STARTTLS',
    'LOGOUT extra',
    'LOGOUT',
  ]);
  await compare(t, 'lists', [
    'LIST UPS',
    'LIST VAR halpi2',
    'LIST VAR HALPI2',
    'LIST VAR halpi2 extra',
    'LIST VAR nope',
    'LIST VAR',
    'LIST RW halpi2',
    'LIST CMD halpi2',
    'LIST CLIENT halpi2',
    'LIST CLIENT nope',
    'LIST ENUM halpi2 ups.status',
    'LIST RANGE halpi2 battery.charge',
    'LIST ENUM halpi2',
    'LIST ENUM halpi2 nope.nope',
    'LIST RANGE nope ups.status',
  ]);
  await compare(t, 'single values', [
    'GET VAR halpi2 ups.status',
    'GET VAR HALPI2 ups.status',
    'GET VAR halpi2 UPS.STATUS',
    'GET VAR halpi2 ups.status extra',
    'GET VAR halpi2 nope.nope',
    'GET VAR nope ups.status',
    'GET VAR halpi2',
    'GET VAR halpi2 server.version',
    'GET VAR nope server.info',
    'GET VAR halpi2 server.nope',
    'GET UPSDESC halpi2',
    'GET UPSDESC Halpi2',
    'GET UPSDESC nope',
    'GET NUMLOGINS halpi2',
    'GET NUMLOGINS nope',
    'GET NUMLOGINS',
  ]);
  await compare(t, 'types and descriptions', [
    ...VARS.flatMap((v) => [`GET TYPE halpi2 ${v}`, `GET DESC halpi2 ${v}`]),
    'GET TYPE halpi2 nope.nope',
    'GET DESC halpi2 nope.nope',
    'GET DESC nope ups.status',
    'GET TYPE halpi2',
    'GET CMDDESC halpi2 nope.nope',
    'GET CMDDESC nope x',
  ]);
  await compare(t, 'commands that need a login', [
    'GET TRACKING',
    'GET TRACKING 0123',
    'SET TRACKING ON',
    'SET VAR halpi2 battery.charge 5',
    'INSTCMD halpi2 test.battery.start',
    'LOGIN halpi2',
    'PRIMARY halpi2',
    'MASTER halpi2',
    'FSD halpi2',
    'SET',
    'INSTCMD',
  ]);
});

t.test('logging in, tracking, SET and INSTCMD', { skip }, async (t) => {
  await compare(t, 'a wrong password', [
    'USERNAME monuser',
    'PASSWORD wrong',
    'LOGIN',
    'LOGIN nope',
    'LOGIN halpi2',
    'GET VAR halpi2 ups.status',
  ]);
  await compare(t, 'a user', [
    'USERNAME monuser',
    'LOGIN halpi2',
    'FSD halpi2',
    'PASSWORD s3cret',
    'USERNAME again',
    'PASSWORD again',
    'LOGIN',
    'LOGIN nope',
    'SET TRACKING ON',
    'GET TRACKING',
    'GET TRACKING 0123',
    'SET TRACKING maybe',
    'SET TRACKING OFF',
    'GET TRACKING',
    'SET',
    'SET FROB x',
    'SET VAR halpi2 battery.charge',
    'SET VAR nope battery.charge 5',
    'SET VAR halpi2 battery.charge 5',
    'SET VAR halpi2 nope.nope 5',
    'INSTCMD halpi2',
    'INSTCMD nope load.off',
    'INSTCMD halpi2 test.battery.start',
    'LOGIN halpi2',
    'LOGIN halpi2',
    'GET NUMLOGINS halpi2',
    'LIST CLIENT halpi2',
    'PRIMARY',
    'PRIMARY nope',
    'PRIMARY halpi2',
    'MASTER halpi2',
    'LOGOUT',
  ]);
});

t.test("libupsclient's tools print the same", { skip }, async (t) => {
  const run = (port: number, cmd: string, args: string[]) => {
    const r = spawnSync(
      cmd,
      args.map((a) => a.replace('@HOST', `@127.0.0.1:${port}`)),
      { encoding: 'utf8', timeout: 10_000 },
    );
    return {
      status: r.status,
      out: r.stdout.trim(),
      err: r.stderr.replace(/Init SSL without certificate database\n?/g, '').trim(),
    };
  };
  const tools: Array<[string, string[]]> = [
    ['upsc', ['HALPI2@HOST', 'ups.status']],
    ['upsc', ['halpi2@HOST', 'nope.nope']],
    ['upsc', ['nope@HOST']],
    ['upsrw', ['-s', 'battery.charge=5', '-u', 'monuser', '-p', 's3cret', 'halpi2@HOST']],
    ['upscmd', ['-u', 'monuser', '-p', 's3cret', 'halpi2@HOST', 'test.battery.start']],
    ['upscmd', ['-u', 'monuser', '-p', 'wrong', 'halpi2@HOST', 'test.battery.start']],
  ];
  for (const [cmd, args] of tools) {
    const [o, u] = [run(ours, cmd, args), run(upsd.port, cmd, args)];
    if (cmd === 'upsc' && args[1] === 'ups.status') t.equal(o.status, 0, 'upsc HALPI2@host works');
    t.same(
      { status: o.status, err: o.err, out: cmd === 'upsc' && o.status === 0 ? 'value' : o.out },
      { status: u.status, err: u.err, out: cmd === 'upsc' && u.status === 0 ? 'value' : u.out },
      `${cmd} ${args.join(' ')}`,
    );
  }
});

t.test('FSD from a primary, with no PRIMARY first', { skip }, async (t) => {
  await compare(t, 'FSD', [
    'USERNAME monuser',
    'PASSWORD s3cret',
    'FSD nope',
    'FSD',
    'FSD halpi2',
    'GET VAR halpi2 ups.status',
  ]);
  const status = async (port: number) => (await converse(port, ['GET VAR halpi2 ups.status']))[0]![0]!;
  t.equal(await status(upsd.port), 'VAR halpi2 ups.status "FSD OL"', "upsd puts FSD before the driver's status");
  t.equal(await status(ours), 'VAR halpi2 ups.status "FSD OL"', 'so does halpid: on input power, not OB');
});

t.test('every difference listed as deliberate is still one', { skip }, async (t) => {
  t.same(
    DELIBERATE.map((dl) => dl.why).filter((w) => !seen.has(w)),
    [],
    'each was met in a conversation above',
  );
});

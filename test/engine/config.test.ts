// The daemon's configuration: schema defaults, file/line/key messages, precedence (docs/configuration.md).
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  changedKeys,
  configYaml,
  defaultConfig,
  loadConfig,
  parseConfigText,
  parseFlagValue,
  reloadKind,
} from '../../engine/config.js';
import { tempDir } from '../helpers/tmp.js';

t.test('defaults come from the schema', async (t) => {
  t.same(defaultConfig(), {
    'i2c-bus': 1,
    'i2c-addr': 0x6d,
    'blackout-time-limit': 5,
    'blackout-voltage-limit': 9,
    socket: '/run/halpid/halpid.sock',
    'socket-group': 'adm',
    poweroff: '/sbin/poweroff',
    'poweroff-timeout': 15,
    'poweroff-fallback': 'systemctl poweroff --force',
    rtcwake: 'rtcwake',
    'dry-run': false,
    backend: 'auto',
    'api-compat': 5,
    'sim-state-file': '',
    'sim-execute-commands': false,
    web: '',
    'web-token': '',
    'web-token-file': '',
    'nut-listen': '',
    'nut-user': '',
    'nut-password': '',
    'nut-password-file': '',
    'nut-primary': false,
  });
  t.equal(reloadKind('i2c-bus'), 'restart');
  t.equal(reloadKind('blackout-time-limit'), 'live');
});

t.test('the Debian conffile parses; dashes and underscores are the same key', async (t) => {
  const text = `# halpid configuration. Keys may use dashes or underscores.
i2c-bus: 1
i2c-addr: 0x6D
socket: /run/halpid/halpid.sock
socket-group: halpid
blackout-time-limit: 5.0
blackout-voltage-limit: 9.0
poweroff: /sbin/poweroff
backend: i2c
`;
  const r = parseConfigText(text, 'halpid.conf');
  t.same(r.errors, []);
  t.same(r.warnings, []);
  t.same(r.values, {
    'i2c-bus': 1,
    'i2c-addr': 109,
    socket: '/run/halpid/halpid.sock',
    'socket-group': 'halpid',
    'blackout-time-limit': 5,
    'blackout-voltage-limit': 9,
    poweroff: '/sbin/poweroff',
    backend: 'i2c',
  });
  const u = parseConfigText(
    'i2c_bus: 3\ndry_run: true\napi_compat: "4"\ni2c_addr: "0x20"\nsocket_group: 960\nweb: 8080\n',
    'f',
  );
  t.same(u.errors, []);
  t.same(u.values, {
    'i2c-bus': 3,
    'dry-run': true,
    'api-compat': 4,
    'i2c-addr': 0x20,
    'socket-group': 960,
    web: '8080',
  });
});

t.test('an empty file, comments only, or an empty value set nothing', async (t) => {
  t.same(parseConfigText('', 'f'), { values: {}, errors: [], warnings: [] });
  t.same(parseConfigText('# nothing\n', 'f'), { values: {}, errors: [], warnings: [] });
  t.same(parseConfigText('socket:\npoweroff: ""\n', 'f').values, { poweroff: '' });
});

t.test('every kind of error names file, line and key — all of them, not only the first', async (t) => {
  const text = [
    'i2c-bus: 1', // 1
    'blackout-time-limit: five', // 2
    'blackout-voltage-limit: 20', // 3
    'i2c_bus: 2', // 4
    'led-socket: /run/x', // 5
    'dry-run: yes', // 6
    'socket: relative/path', // 7
    'backend: hardware', // 8
    'i2c-addr: 0x90', // 9
    'rtcwake: ""', // 10
    'api-compat: 3', // 11
    'blackout-time-limit: 0', // 12 (duplicate: reported as such)
    'poweroff: [a, b]', // 13
  ].join('\n');
  const r = parseConfigText(text, '/etc/halpid/halpid.conf');
  t.same(r.errors, [
    'halpid: /etc/halpid/halpid.conf:2: blackout-time-limit: expected a number greater than 0 and at most 3600, got "five"',
    'halpid: /etc/halpid/halpid.conf:3: blackout-voltage-limit: expected a number from 5.0 to 15.0, got 20',
    'halpid: /etc/halpid/halpid.conf:4: i2c_bus: duplicate of i2c-bus on line 1',
    'halpid: /etc/halpid/halpid.conf:6: dry-run: expected true or false, got "yes"',
    'halpid: /etc/halpid/halpid.conf:7: socket: expected an absolute path, got "relative/path"',
    'halpid: /etc/halpid/halpid.conf:8: backend: expected one of auto, i2c, simulator, got "hardware"',
    'halpid: /etc/halpid/halpid.conf:9: i2c-addr: expected an integer from 0x03 to 0x77, got 144',
    'halpid: /etc/halpid/halpid.conf:10: rtcwake: expected a non-empty string, got ""',
    'halpid: /etc/halpid/halpid.conf:11: api-compat: expected 5 or 4, got 3',
    'halpid: /etc/halpid/halpid.conf:12: blackout-time-limit: duplicate of blackout-time-limit on line 2',
    'halpid: /etc/halpid/halpid.conf:13: poweroff: expected a command line (a string; empty runs nothing), got a list',
  ]);
  t.same(r.warnings, ['halpid: /etc/halpid/halpid.conf:5: warning: unknown key "led-socket" ignored']);
  t.same(r.values, { 'i2c-bus': 1 }, 'only valid values are kept');
});

t.test('YAML syntax errors and a non-mapping top level', async (t) => {
  const r = parseConfigText('i2c-bus: 1\nsocket: [unclosed\nbackend: i2c\n', 'c.yaml');
  t.equal(r.errors.length, 1);
  t.match(r.errors[0], /^halpid: c\.yaml:\d+:\d+: YAML syntax error: \S/);
  t.notMatch(r.errors[0], /\n/, 'one line');
  t.same(parseConfigText('- a\n- b\n', 'c.yaml').errors, ['halpid: c.yaml: expected a mapping of settings']);
  t.same(parseConfigText('just text\n', 'c.yaml').errors, ['halpid: c.yaml: expected a mapping of settings']);
});

t.test('precedence: defaults < files in order < flags; the default file only without --conf', async (t) => {
  const dir = t.testdir({
    'a.conf': 'blackout-time-limit: 10\npoweroff: /bin/a\n',
    'b.conf': 'blackout-time-limit: 20\n',
    'default.conf': 'socket-group: fromdefault\n',
  });
  const r = loadConfig({
    files: [join(dir, 'a.conf'), join(dir, 'b.conf')],
    flags: { poweroff: '/bin/flag' },
    defaultFile: join(dir, 'default.conf'),
  });
  t.same(r.errors, []);
  t.equal(r.config['blackout-time-limit'], 20, 'later file wins');
  t.equal(r.config.poweroff, '/bin/flag', 'flag wins');
  t.equal(r.config['socket-group'], 'adm', 'the default file is not read when --conf is given');
  t.same(r.files, [join(dir, 'a.conf'), join(dir, 'b.conf')]);
  const d = loadConfig({ defaultFile: join(dir, 'default.conf') });
  t.equal(d.config['socket-group'], 'fromdefault', 'default file read when present');
  const none = loadConfig({ defaultFile: join(dir, 'absent.conf') });
  t.same(none.files, []);
  t.same(none.config, defaultConfig());
  const missing = loadConfig({ files: [join(dir, 'nope.conf')] });
  t.same(missing.errors, [`Config file not found: ${join(dir, 'nope.conf')}`]);
});

t.test('flag values are validated with the same rules', async (t) => {
  t.equal(parseFlagValue('i2c-addr', '0x6D'), 0x6d);
  t.equal(parseFlagValue('i2c-addr', '109'), 109);
  t.throws(() => parseFlagValue('i2c-addr', '0x90'), {
    name: 'UsageError',
    message: 'halpid: option --i2c-addr: expected an integer from 0x03 to 0x77, got "0x90"',
  });
  t.equal(parseFlagValue('blackout-time-limit', '2.5'), 2.5);
  t.throws(() => parseFlagValue('blackout-time-limit', 'soon'), {
    message: /^halpid: option --blackout-time-limit: expected a number/,
  });
  t.throws(() => parseFlagValue('i2c-bus', '1.5'), { message: /expected an integer from 0 to 255, got "1.5"/ });
  t.equal(parseFlagValue('socket-group', '960'), 960);
  t.equal(parseFlagValue('socket-group', 'halpid'), 'halpid');
  t.equal(
    parseFlagValue('socket', 'run/h.sock'),
    join(process.cwd(), 'run/h.sock'),
    'relative flag paths are resolved',
  );
  t.equal(parseFlagValue('web', '127.0.0.1:8080'), '127.0.0.1:8080');
  t.throws(() => parseFlagValue('web', '127.0.0.1:99999'));
  t.equal(parseFlagValue('api-compat', '4'), 4);
  t.equal(parseFlagValue('backend', 'simulator'), 'simulator');
  t.equal(parseFlagValue('poweroff-timeout', '7.5'), 7.5);
  t.throws(() => parseFlagValue('poweroff-timeout', '0'), {
    message: 'halpid: option --poweroff-timeout: expected a number of seconds greater than 0 and at most 600, got "0"',
  });
  t.equal(parseFlagValue('poweroff-fallback', ''), '', 'empty: no fallback');
});

t.test('changed keys between two configurations', async (t) => {
  const a = defaultConfig();
  const b = { ...a, 'blackout-time-limit': 7, 'i2c-bus': 2 };
  t.same(changedKeys(a, b), ['i2c-bus', 'blackout-time-limit']);
});

t.test('a blackout time limit of 0 is refused, in a file and as a flag', async (t) => {
  t.same(parseConfigText('blackout-time-limit: 0\n', 'f.conf').errors, [
    'halpid: f.conf:1: blackout-time-limit: expected a number greater than 0 and at most 3600, got 0',
  ]);
  t.same(parseConfigText('blackout-time-limit: 0.0\n', 'f.conf').errors.length, 1, '0.0 too');
  t.throws(() => parseFlagValue('blackout-time-limit', '0'), {
    name: 'UsageError',
    message: 'halpid: option --blackout-time-limit: expected a number greater than 0 and at most 3600, got "0"',
  });
  t.equal(parseFlagValue('blackout-time-limit', '0.1'), 0.1, 'just above 0 is fine');
});

t.test('nut-user without nut-password is refused, naming file, line and key (as upsd refuses it)', async (t) => {
  const dir = t.testdir({
    'nopw.conf': 'nut-listen: 3493\nnut-user: monuser\n',
    'pw.conf': 'nut-password: s3cret\n',
  });
  const r = loadConfig({ files: [join(dir, 'nopw.conf')] });
  t.same(r.errors, [
    `halpid: ${join(dir, 'nopw.conf')}:2: nut-user: needs a nut-password (a NUT user without a password is refused, as by upsd)`,
  ]);
  t.same(
    loadConfig({ files: [join(dir, 'nopw.conf'), join(dir, 'pw.conf')] }).errors,
    [],
    'a password from another file will do',
  );
  t.match(
    loadConfig({ files: [], flags: { 'nut-user': 'x' }, defaultFile: join(dir, 'absent') }).errors[0],
    /^halpid: option --nut-user: nut-user: needs a nut-password/,
  );
  t.same(loadConfig({ files: [], defaultFile: join(dir, 'absent') }).errors, [], 'no user, no password: fine');
});

t.test('web-token-file and nut-password-file: the secrets from their own files', async (t) => {
  const dir = tempDir('halpid-secrets-');
  writeFileSync(join(dir, 'token'), 's3cret-from-file\n');
  writeFileSync(join(dir, 'pw'), 'pass word');
  writeFileSync(join(dir, 'empty'), '\n');
  const conf = (text: string) => {
    writeFileSync(join(dir, 'h.conf'), text);
    return loadConfig({ files: [join(dir, 'h.conf')] });
  };
  const ok = conf(`web-token-file: ${join(dir, 'token')}\nnut-password-file: ${join(dir, 'pw')}\n`);
  t.same(ok.errors, []);
  t.equal(ok.config['web-token'], 's3cret-from-file', 'one trailing newline dropped');
  t.equal(ok.config['nut-password'], 'pass word');
  t.same(conf(`web-token: x\nweb-token-file: ${join(dir, 'token')}\n`).errors, [
    'halpid: web-token and web-token-file are both set; keep one',
  ]);
  t.match(
    conf(`nut-password-file: ${join(dir, 'absent')}\n`).errors[0],
    `halpid: nut-password-file: cannot read ${join(dir, 'absent')}: ENOENT`,
  );
  t.same(conf(`web-token-file: ${join(dir, 'empty')}\n`).errors, [
    `halpid: web-token-file: ${join(dir, 'empty')} is empty`,
  ]);
  t.match(conf('web-token-file: relative/path\n').errors[0], /expected an absolute path, or empty/);
  t.notMatch(configYaml(ok.config), /s3cret-from-file/, '--config-check masks it');
});

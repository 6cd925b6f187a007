// `halpi flash` asks before uploading when a person sits at a terminal (docs/cli.md): answered in
// a real pseudo-terminal (util-linux `script`), and the rule that decides it, without one.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { askFirst, askYesNo } from '../../cli/flash.js';
import { HALPI, startDaemon } from '../helpers/daemon.js';
import { firmwareImage } from '../helpers/firmware.js';
import { tempDir } from '../helpers/tmp.js';

t.test(
  'the question is asked only with a terminal on stdin and stderr, without --yes, outside a package script',
  async (t) => {
    const tty = { stdin: true, stderr: true };
    t.equal(askFirst(undefined, {}, tty), true);
    t.equal(askFirst(true, {}, tty), false, '--yes');
    t.equal(
      askFirst(undefined, { DPKG_MAINTSCRIPT_PACKAGE: 'halpi2-firmware' }, tty),
      false,
      "the firmware package's postinst",
    );
    t.equal(askFirst(undefined, {}, { stdin: false, stderr: true }), false, 'input from a pipe');
    t.equal(askFirst(undefined, {}, { stdin: true, stderr: false }), false, 'stderr to a file');
  },
);

t.test('only y or yes confirms; the end of input declines', async (t) => {
  const answer = async (typed: string | null): Promise<[boolean, string]> => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (c: Buffer) => {
      shown += c.toString();
    });
    const result = askYesNo('Flash? [y/N] ', input, output);
    if (typed === null) input.end();
    else input.write(typed);
    return [await result, shown];
  };
  t.same(await answer('y\n'), [true, 'Flash? [y/N] ']);
  t.same(await answer('YES\n'), [true, 'Flash? [y/N] ']);
  t.same(await answer('n\n'), [false, 'Flash? [y/N] ']);
  t.same(await answer('\n'), [false, 'Flash? [y/N] '], 'Enter takes the default, no');
  t.same(await answer('yep\n'), [false, 'Flash? [y/N] ']);
  t.same(await answer(null), [false, 'Flash? [y/N] \n'], 'Ctrl-D');
});

t.test('in a terminal: no uploads nothing, y uploads, --yes does not ask', async (t) => {
  const d = await startDaemon();
  t.teardown(() => d.stop());
  const file = join(tempDir('halpi-confirm-'), 'halpi2-firmware.bin');
  writeFileSync(file, firmwareImage({ bytes: 8192 }));
  /** halpi in a pseudo-terminal, `typed` arriving on it; the screen as the user saw it. */
  const inTerminal = (args: string, typed: string): Promise<{ code: number | null; screen: string }> =>
    new Promise((resolve) => {
      const p = spawn('script', ['-qec', `${process.execPath} ${HALPI} -s ${d.socket} ${args}`, '/dev/null'], {
        env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let screen = '';
      p.stdout.on('data', (c: Buffer) => {
        screen += c.toString();
      });
      p.stdin.end(typed);
      p.on('close', (code) => resolve({ code, screen: screen.replace(/\r/g, '') }));
    });
  const question =
    'Flash halpi2-firmware.bin (8192 bytes) to the HALPI2 controller? It takes effect after the next full power cycle. [y/N] ';

  const no = await inTerminal(`flash ${file}`, 'n\n');
  t.equal(no.code, 1);
  t.match(no.screen, `${question}Error: Cancelled; nothing was sent to the controller\n`);
  t.notMatch(no.screen, /Uploading/);
  t.notMatch(d.logs(), /Starting firmware update/, 'the daemon was sent nothing');

  const yes = await inTerminal(`flash ${file}`, 'y\n');
  t.equal(yes.code, 0, yes.screen);
  t.match(yes.screen, `${question}Uploading firmware to device...\n`);
  t.match(yes.screen, /Firmware uploaded successfully/);
  t.match(d.logs(), /Starting firmware update \(8192 bytes, 2 blocks\)/);

  for (const flag of ['--yes', '-y']) {
    const skip = await inTerminal(`flash ${flag} ${file}`, '');
    t.equal(skip.code, 0, skip.screen);
    t.notMatch(skip.screen, /\[y\/N\]/, `${flag}: no question`);
    t.match(skip.screen, /Firmware uploaded successfully/);
  }

  const refused = await inTerminal(`flash ${join(file, '..', 'missing.bin')}`, 'y\n');
  t.notMatch(refused.screen, /\[y\/N\]/, 'a bad file is refused before any question');
});

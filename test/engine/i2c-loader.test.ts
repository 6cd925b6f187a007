// engine/i2c-loader.ts on package trees made up for the test: i2c-bus as npm built it, the
// prebuilt addon when it was not built (a real addon file, so the load is real), and the one-line
// errors when neither works.
import t from 'tap';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadI2cBus, prebuiltAddon } from '../../engine/i2c-loader.js';
import { ROOT } from '../helpers/daemon.js';
import { tempDir } from '../helpers/tmp.js';

const addon = join(ROOT, 'node_modules/i2c-bus/build/Release/i2c.node');
const abi = process.versions.modules;

/** pkg/dist/main.js (where the search starts), pkg/node_modules/{i2c-bus,bindings}, maybe pkg/prebuilds. */
function tree(opts: { built: boolean; prebuilt?: string; i2cBus?: boolean }): string {
  const pkg = tempDir('i2c-loader-');
  mkdirSync(join(pkg, 'dist'));
  writeFileSync(join(pkg, 'dist/main.js'), '');
  if (opts.i2cBus !== false) {
    mkdirSync(join(pkg, 'node_modules/i2c-bus'), { recursive: true });
    writeFileSync(join(pkg, 'node_modules/i2c-bus/package.json'), '{"name":"i2c-bus","main":"i2c-bus.js"}');
    writeFileSync(
      join(pkg, 'node_modules/i2c-bus/i2c-bus.js'),
      "const i2c = require('bindings')('i2c.node');\nexports.openPromisified = async () => ({});\nexports.addon = i2c;\n",
    );
    mkdirSync(join(pkg, 'node_modules/bindings'));
    writeFileSync(join(pkg, 'node_modules/bindings/package.json'), '{"name":"bindings","main":"bindings.js"}');
    // Like the real `bindings`: the addon npm built, or the error it gives when there is none.
    writeFileSync(
      join(pkg, 'node_modules/bindings/bindings.js'),
      opts.built
        ? 'module.exports = () => ({ built: true });\n'
        : "module.exports = (n) => { throw new Error('Could not locate the bindings file. Tried:\\n → /x/build/' + n); };\n",
    );
  }
  if (opts.prebuilt) {
    mkdirSync(join(pkg, `prebuilds/linux-${process.arch}`), { recursive: true });
    copyFileSync(opts.prebuilt, join(pkg, `prebuilds/linux-${process.arch}/i2c.abi${abi}.node`));
  }
  return join(pkg, 'dist/main.js');
}

t.test('i2c-bus as npm built it comes first', async (t) => {
  const mod = loadI2cBus({
    from: tree({ built: true, prebuilt: existsSync(addon) ? addon : undefined }),
  }) as unknown as { addon: unknown };
  t.same(mod.addon, { built: true });
});

t.test(
  'not built (npm --ignore-scripts): the prebuilt addon for this Node',
  { skip: !existsSync(addon) && 'i2c-bus was not built here' },
  async (t) => {
    const from = tree({ built: false, prebuilt: addon });
    const mod = loadI2cBus({ from }) as unknown as { addon: Record<string, unknown>; openPromisified: unknown };
    t.type(mod.openPromisified, 'function', 'the i2c-bus API');
    t.type(mod.addon.i2cFuncsSync, 'function', 'over the real addon');
    // The swap of `bindings` lasted only for that require.
    const bindings = createRequire(from)('bindings') as (n: string) => unknown;
    t.throws(() => bindings('i2c.node'), /Could not locate the bindings file/, 'bindings is itself again');
    t.match(prebuiltAddon({ from }).path, new RegExp(`prebuilds/linux-${process.arch}/i2c\\.abi${abi}\\.node$`));
  },
);

t.test('neither: one line that says what is missing and what to do', async (t) => {
  const from = tree({ built: false });
  let message = '';
  try {
    loadI2cBus({ from });
  } catch (err) {
    message = (err as Error).message;
  }
  t.equal(
    message,
    `i2c-bus has no usable native addon (Could not locate the bindings file. Tried:) and there is none prebuilt for linux-${process.arch}, ` +
      `Node ${process.versions.node}: build it with \`npm rebuild i2c-bus\``,
  );
  t.notOk(message.includes('\n'), 'one line');
  // Prebuilt for another Node only.
  t.throws(
    () => loadI2cBus({ from: tree({ built: false, prebuilt: existsSync(addon) ? addon : undefined }), abi: '1' }),
    /none prebuilt for linux-/,
  );
});

t.test('i2c-bus not installed at all', async (t) => {
  t.throws(() => loadI2cBus({ from: tree({ built: false, i2cBus: false }) }), {
    message: 'the i2c-bus module is not installed (npm install i2c-bus)',
  });
});

t.test('a prebuilt file that is not an addon: the load error, in one line', async (t) => {
  const junk = join(tempDir('i2c-loader-junk-'), 'junk.node');
  writeFileSync(junk, 'not an ELF file. '.repeat(20));
  const from = tree({ built: false, prebuilt: junk });
  t.throws(
    () => loadI2cBus({ from }),
    /^the prebuilt i2c-bus addon .*i2c\.abi\d+\.node does not load: .*invalid ELF header/,
  );
});

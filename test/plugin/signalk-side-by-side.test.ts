// Hat Labs' signalk-halpi enabled next to this plugin on a real signalk-server 2.23.0: both
// publish electrical.halpi.*, so our status says so and what to do; once it is disabled, the
// status is the plain one. The vendor's plugin is played by a stand-in with its id.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIDE_BY_SIDE } from '../../plugin/plugin.js';
import { startSignalK, type SignalK } from '../helpers/signalk-server.js';

const CONFIG = { mode: 'simulator', pollInterval: 500, engine: { poweroffCommand: 'true' } };
let sk: SignalK;

t.before(async () => {
  sk = await startSignalK(CONFIG, {
    pluginConfigs: { 'signalk-halpi': { enabled: true, configuration: {} } },
    prepare(dir) {
      const pkg = join(dir, 'node_modules', 'signalk-halpi');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(
        join(pkg, 'package.json'),
        JSON.stringify({
          name: 'signalk-halpi',
          version: '0.1.2',
          main: 'index.js',
          keywords: ['signalk-node-server-plugin'],
        }),
      );
      writeFileSync(
        join(pkg, 'index.js'),
        "module.exports = () => ({ id: 'signalk-halpi', name: 'HALPI (stand-in)', schema: {}, start() {}, stop() {} });\n",
      );
    },
  });
});
t.teardown(() => sk?.stop());

t.test('with signalk-halpi enabled too, the status says so and what to do', async (t) => {
  const plugins = (await sk.get('/skServer/plugins')).body as Array<{ id: string; data: { enabled?: boolean } }>;
  t.equal(plugins.find((p) => p.id === 'signalk-halpi')?.data.enabled, true, 'the stand-in is installed and enabled');
  const status = await sk.waitForStatus((m) => m.startsWith('Simulated HALPI2 controller'));
  t.equal(status, `Simulated HALPI2 controller (no hardware). ${SIDE_BY_SIDE}`);
  t.match(status, /disable signalk-halpi under Server → Plugin Config/);
});

t.test('signalk-halpi disabled: the plain status', async (t) => {
  t.equal((await sk.send('POST', '/plugins/signalk-halpi/config', { enabled: false, configuration: {} })).status, 200);
  t.equal(
    (await sk.send('POST', '/plugins/signalk-halpi2/config', { enabled: true, configuration: CONFIG })).status,
    200,
  );
  t.equal(
    await sk.waitForStatus((m) => m === 'Simulated HALPI2 controller (no hardware)'),
    'Simulated HALPI2 controller (no hardware)',
  );
});

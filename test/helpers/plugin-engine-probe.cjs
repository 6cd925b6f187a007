// The built plugin (dist/plugin/index.cjs, or the one under argv[2]) in engine mode, as the
// Signal K server loads it, with a minimal app: prints one JSON line per event the test needs
// ({"status"}, {"value"} for the input and supercap voltages) and stops cleanly on stdin "stop"
// ("exit": exits at once without stopping it).
const path = require('node:path');
const readline = require('node:readline');
const pluginDir = process.argv[2];
const mark = process.argv[3];
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const app = {
  handleMessage(_id, delta) {
    for (const u of delta.updates ?? [])
      for (const v of u.values ?? []) {
        if (/dcInputVoltage$|supercapVoltage$/.test(v.path)) say({ value: v.path, v: v.value });
      }
  },
  setPluginStatus: (s) => say({ status: s }),
  setPluginError: (s) => say({ error: s }),
  registerPutHandler() {},
  debug() {},
  error: (...a) => say({ error: a.map(String).join(' ') }),
  getSelfPath() {},
};
const plugin = require(
  pluginDir ? path.join(pluginDir, 'dist/plugin/index.cjs') : path.join(__dirname, '../../dist/plugin/index.cjs'),
)(app);
plugin.start({
  mode: 'engine',
  socketPath: '/nonexistent/halpid.sock',
  pollInterval: 200,
  engine: { poweroffCommand: `touch ${mark}`, blackoutTimeLimit: 1 },
});
readline.createInterface({ input: process.stdin }).on('line', async (l) => {
  // "exit": the server going away without stopping the plugin; only its exit hook runs.
  if (l === 'exit') process.exit(0);
  if (l !== 'stop') return;
  await plugin.stop();
  say({ stopped: true });
  process.exit(0);
});

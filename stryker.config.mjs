// Mutation testing of the code that decides safety or security: `npm run mutate` (not in CI; the
// whole run takes hours). Each group is source files with the tests that run them in-process
// (tests that start the built halpid cannot see a mutant); `MUTATE=supervisor,nut npm run mutate`
// runs a subset. The tests run under tsx (esbuild), three times quicker to start than tap's
// loader. How to read the report: docs/testing.md.
export const GROUPS = {
  // engine/: the blackout decision and everything it acts through.
  supervisor: [
    ['engine/supervisor.ts'],
    [
      'test/engine/supervisor-readings.test.ts',
      'test/engine/supervisor.test.ts',
      'test/engine/blackout-faults.test.ts',
      'test/engine/supervisor-deadline.test.ts',
      'test/engine/supervisor-figures.test.ts',
      'test/engine/supply.test.ts',
      'test/engine/watchdog-setting.test.ts',
    ],
  ],
  engine: [
    ['engine/engine.ts'],
    [
      'test/engine/engine.test.ts',
      'test/engine/engine-status.test.ts',
      'test/engine/engine-requests.test.ts',
      'test/engine/engine-ticks.test.ts',
      'test/engine/engine-values.test.ts',
      'test/engine/blackout-faults.test.ts',
      'test/engine/blackout-physics.test.ts',
      'test/engine/reachability.test.ts',
      'test/engine/jitter.test.ts',
      'test/engine/supervisor.test.ts',
      'test/engine/history.test.ts',
      'test/engine/idle-timers.test.ts',
      'test/engine/supply.test.ts',
      'test/engine/watchdog-setting.test.ts',
      'test/engine/values-now.test.ts',
      'test/engine/engine-guard.test.ts',
      'test/engine/engine-sim-host.test.ts',
    ],
  ],
  commands: [['engine/commands.ts'], ['test/engine/commands.test.ts']],
  device: [['engine/device.ts'], ['test/engine/device.test.ts', 'test/engine/engine.test.ts']],
  dfu: [['engine/dfu.ts'], ['test/engine/simulator/dfu.test.ts', 'test/engine/engine.test.ts']],
  registers: [['engine/registers.ts'], ['test/engine/registers.test.ts', 'test/engine/device.test.ts']],
  nut: [
    ['engine/nut/*.ts'],
    [
      'test/engine/nut/auth-budget.test.ts',
      'test/engine/nut/names.test.ts',
      'test/engine/nut/variables.test.ts',
      'test/engine/nut/protocol.test.ts',
      'test/engine/nut/protocol-edges.test.ts',
      'test/engine/nut/server.test.ts',
      'test/engine/nut/server-limits.test.ts',
      'test/engine/nut/server-edges.test.ts',
      'test/engine/nut/server-start.test.ts',
      'test/engine/nut/server-close.test.ts',
      'test/engine/nut/server-fairness.test.ts',
      'test/engine/nut/server-lines.test.ts',
      'test/engine/nut/server-bounds.test.ts',
      'test/engine/nut/server-drain.test.ts',
    ],
  ],
  standby: [
    ['engine/api/standby.ts', 'engine/api/standby4.ts'],
    [
      'test/engine/api/standby.test.ts',
      'test/engine/api/standby4.test.ts',
      'test/engine/api/standby4-bounds.test.ts',
      'test/standalone/web.test.ts',
    ],
  ],
  // The API's routes on the engine in-process (test/helpers/api.ts); the api-*.test.ts files run
  // the built halpid, which Stryker cannot see.
  router: [
    ['engine/api/router.ts'],
    [
      'test/engine/api/router.test.ts',
      'test/engine/api/router-dialect4.test.ts',
      'test/engine/api/router-actions.test.ts',
    ],
  ],
  // standalone/: the daemon's listeners and its life cycle.
  socket: [['standalone/socket.ts'], ['test/standalone/socket.test.ts']],
  web: [['standalone/web.ts'], ['test/standalone/web.test.ts']],
  // The Daemon class in-process: its life cycle, its faces, its configuration. Not daemon.test.ts:
  // it runs the built halpid (slow, and no mutant to kill); its two in-process tests are in
  // daemon-lifecycle and daemon-config too.
  daemon: [
    ['standalone/daemon.ts'],
    // Quickest first: a mutant's run stops at the first file that fails.
    [
      'test/standalone/daemon-config.test.ts',
      'test/standalone/daemon-faces.test.ts',
      'test/standalone/daemon-lifecycle.test.ts',
    ],
  ],
  // plugin/: what Signal K users see and may do.
  publisher: [
    ['plugin/publisher.ts', 'plugin/notifications.ts'],
    ['test/plugin/publisher.test.ts', 'test/plugin/plugin-simulator.test.ts'],
  ],
  puts: [['plugin/puts.ts'], ['test/plugin/puts.test.ts', 'test/plugin/plugin-simulator.test.ts']],
  modes: [['plugin/modes.ts'], ['test/plugin/modes.test.ts']],
  // The plugin's life cycle: start and stop, auto's re-probe, the status texts, the router.
  plugin: [
    ['plugin/plugin.ts'],
    // The life-cycle tests first: most mutants fail there, and a run stops at the first failing file.
    ['test/plugin/plugin-lifecycle.test.ts', 'test/plugin/plugin-simulator.test.ts', 'test/plugin/modes.test.ts'],
  ],
  // webapp/src/: what the panel shows in a blackout and when the controller is silent, and the
  // settings it refuses; the pure modules main.ts, halpid.ts and signalk.ts draw from (the
  // browser tests run the bundle, which Stryker does not mutate).
  panel: [
    [
      'webapp/src/blackout-view.ts',
      'webapp/src/cards.ts',
      'webapp/src/halpid-feed.ts',
      'webapp/src/signalk-feed.ts',
      'webapp/src/model.ts',
      'webapp/src/settings.ts',
      'webapp/src/blackouts.ts',
    ],
    [
      'test/webapp/src/blackout-view.test.ts',
      'test/webapp/src/cards.test.ts',
      'test/webapp/src/halpid-feed.test.ts',
      'test/webapp/src/signalk-feed.test.ts',
      'test/webapp/src/model.test.ts',
      'test/webapp/src/settings.test.ts',
      'test/webapp/src/blackouts.test.ts',
    ],
  ],
};
const chosen = (process.env.MUTATE || Object.keys(GROUPS).join(',')).split(',').map((g) => g.trim());
for (const g of chosen)
  if (!GROUPS[g]) throw new Error(`MUTATE: unknown group ${g} (one of ${Object.keys(GROUPS).join(', ')})`);
const name = chosen.join('-');

export default {
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  mutate: chosen.flatMap((g) => GROUPS[g][0]),
  tap: {
    testFiles: [...new Set(chosen.flatMap((g) => GROUPS[g][1]))],
    nodeArgs: ['--import=tsx'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  thresholds: { high: 95, low: 90, break: null },
  ignorePatterns: ['dist', 'coverage', '.tap', 'reports', 'run', 'build'],
  tempDirName: '.stryker-tmp',
};

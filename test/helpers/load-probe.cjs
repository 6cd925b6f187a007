// A preload for child processes (`node --require <this file> …`): appends to $HALPI2_LOAD_LOG the
// path of every CommonJS file Node compiles (the bins are CommonJS bundles, so the files they
// load), and, at exit, `native: <name>` for each of Node's own modules it loaded
// (process.moduleLoadList: `internal/modules/esm/loader` is its ES module loader). Used to see what
// a command loaded, not how long it took. CommonJS itself, so that the probe loads nothing of its own.
// halpid's entry compiles the rest of the daemon itself, with a V8 code cache (vm.Script,
// standalone/code-cache.ts): the probe logs the file of every vm.Script too, once something has
// required node:vm (so it loads no vm of its own).
'use strict';
const { appendFileSync } = require('node:fs');
const log = process.env.HALPI2_LOAD_LOG;
if (log) {
  const Module = module.constructor;
  const compile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    appendFileSync(log, `${filename}\n`);
    return compile.call(this, content, filename);
  };
  const load = Module.prototype.require;
  let vmSeen = false;
  Module.prototype.require = function (id) {
    const exports = load.call(this, id);
    if (!vmSeen && (id === 'node:vm' || id === 'vm')) {
      vmSeen = true;
      const Script = exports.Script;
      exports.Script = class extends Script {
        constructor(code, options) {
          super(code, options);
          if (typeof options?.filename === 'string' && options.filename.startsWith('/'))
            appendFileSync(log, `${options.filename}\n`);
        }
      };
    }
    return exports;
  };
  process.on('exit', () => {
    const natives = process.moduleLoadList.filter((m) => m.startsWith('NativeModule '));
    appendFileSync(log, natives.map((m) => `native: ${m.slice(13)}\n`).join(''));
  });
}

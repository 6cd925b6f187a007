// The package's `main` (docs/signalk.md): the Signal K server `require()`s it and calls the
// export with its app object. Bundled to CommonJS (dist/plugin/index.cjs) so that every Node.js
// 20 can require it from this ES-module package.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin, ServerAPI } from '@signalk/server-api';
import { createPlugin, type ServerApp } from './plugin.js';

export default function halpi2(app: ServerAPI): Plugin {
  // Our narrow view of the server (checked here against the server's own types).
  const narrow: ServerApp = {
    handleMessage: (id, delta) => app.handleMessage(id, delta as Parameters<ServerAPI['handleMessage']>[1]),
    setPluginStatus: (t) => app.setPluginStatus(t),
    setPluginError: (t) => app.setPluginError(t),
    registerPutHandler: (context, path, handler, source) =>
      app.registerPutHandler(
        context,
        path,
        handler as unknown as Parameters<ServerAPI['registerPutHandler']>[2],
        source,
      ),
    debug: (...args) => app.debug(args.map(String).join(' ')),
    error: (...args) => app.error(args.map(String).join(' ')),
    getSelfPath: (path) => app.getSelfPath(path),
  };
  // signalk-server 2.23.0 gives a plugin no view of the other plugins, but its configuration
  // directory: an installed plugin is in node_modules (HaLOS links system plugins there), its
  // settings, "enabled" among them, in plugin-config-data/<id>.json.
  const dir = (app as unknown as { config?: { configPath?: unknown } }).config?.configPath;
  if (typeof dir === 'string') {
    narrow.pluginEnabled = (id) => {
      if (!existsSync(join(dir, 'node_modules', id, 'package.json'))) return false;
      try {
        return (
          (JSON.parse(readFileSync(join(dir, 'plugin-config-data', `${id}.json`), 'utf8')) as { enabled?: unknown })
            .enabled === true
        );
      } catch {
        return false; // no settings: never enabled
      }
    };
  }
  // Newer servers' helpers are used only where they exist (2.23.0 has neither).
  const newer = app as ServerAPI & { setDefaultMetadata?: (path: string, value: unknown) => Promise<unknown> };
  if (typeof newer.setDefaultMetadata === 'function')
    narrow.setDefaultMetadata = (path, value) => newer.setDefaultMetadata!(path, value);
  const plugin = createPlugin(narrow);
  return plugin as unknown as Plugin;
}

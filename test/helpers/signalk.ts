// A small fake of the Signal K ServerAPI: records deltas, status, errors and PUT handlers, and
// keeps the latest value per path as the server's data model would.
import type { ServerApp } from '../../plugin/plugin.js';
import type { Delta } from '../../plugin/publisher.js';

export interface FakeApp extends ServerApp {
  deltas: Delta[];
  statuses: string[];
  errors: string[];
  pluginErrors: string[];
  puts: Map<string, (context: string, path: string, value: unknown, cb: (r: unknown) => void) => unknown>;
  /** The latest value per path (null included), as the data model holds it. */
  values: Map<string, unknown>;
  meta: Map<string, Record<string, unknown>>;
  put(path: string, value: unknown): Promise<{ statusCode: number; message?: string; state: string }>;
  /** Resolves at the next delta that sets `path` to a value `accept`s. */
  next(path: string, accept?: (v: unknown) => boolean): Promise<unknown>;
}

export function fakeApp(): FakeApp {
  const waiters: Array<{ path: string; accept: (v: unknown) => boolean; resolve: (v: unknown) => void }> = [];
  const app: FakeApp = {
    deltas: [],
    statuses: [],
    errors: [],
    pluginErrors: [],
    puts: new Map(),
    values: new Map(),
    meta: new Map(),
    handleMessage(_id, delta) {
      app.deltas.push(delta);
      for (const u of delta.updates) {
        for (const m of u.meta ?? [])
          app.meta.set(m.path, { ...(app.meta.get(m.path) ?? {}), ...(m.value as Record<string, unknown>) });
        for (const v of u.values ?? []) {
          app.values.set(v.path, v.value);
          for (const w of [...waiters]) {
            if (w.path === v.path && w.accept(v.value)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(v.value);
            }
          }
        }
      }
    },
    setPluginStatus: (t) => void app.statuses.push(t),
    setPluginError: (t) => void app.pluginErrors.push(t),
    registerPutHandler(_context, path, handler) {
      app.puts.set(path, handler);
      app.handleMessage('fake', { updates: [{ meta: [{ path, value: { supportsPut: true } }] }] });
    },
    debug: () => {},
    error: (...args) => void app.errors.push(args.map(String).join(' ')),
    getSelfPath: () => undefined,
    async put(path, value) {
      const h = app.puts.get(path);
      if (!h) return { state: 'COMPLETED', statusCode: 405, message: `PUT not supported for ${path}` };
      return (await h('vessels.self', path, value, () => {})) as {
        statusCode: number;
        message?: string;
        state: string;
      };
    },
    next(path, accept = () => true) {
      return new Promise((resolve) => waiters.push({ path, accept, resolve }));
    },
  };
  return app;
}

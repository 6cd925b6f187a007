// Test rig: the API handler (engine/api/router.ts) in-process, on an Engine on the simulated
// controller with a FakeClock (helpers/engine.ts), served by node:http on a private Unix socket.
// Requests are the real wire (status, headers, bytes); the clock is moved while one is in flight,
// so bus retries and DFU waits, which sleep on the fake clock, complete.
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createApi, type ApiOptions } from '../../engine/api/router.js';
import type { Dialect } from '../../engine/api/json-write.js';
import { request, type Reply } from './http-request.js';
import { engineRig } from './engine.js';
import { tempDir } from './tmp.js';

export { json } from './http-request.js';

export async function apiRig(
  t: { teardown: (fn: () => unknown) => void },
  opts: {
    dialect?: Dialect;
    api?: Partial<Omit<ApiOptions, 'engine'>>;
    rig?: Parameters<typeof engineRig>[0];
    /** Start the engine (its supervisor arms the watchdog: OperationalCoOp), as halpid does. Default true. */
    start?: boolean;
  } = {},
) {
  const rig = engineRig({ settings: { blackoutTimeLimitS: 600 }, ...opts.rig });
  let dialect: Dialect = opts.dialect ?? 5;
  const api = createApi({ engine: rig.engine, version: 'test-1.2.3', dialect: () => dialect, ...opts.api });
  const socket = join(tempDir('halpi2-api-'), 'api.sock');
  const server = createServer((req, res) => api.handle(req, res));
  await new Promise<void>((r) => server.listen(socket, () => r()));
  t.teardown(async () => {
    api.close();
    if (opts.start !== false) await rig.stop();
    await new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  });
  if (opts.start !== false) {
    rig.engine.start();
    await rig.clock.advanceUntil(() => rig.sim.state === 'OperationalCoOp', 5000);
  }
  /** One request; the fake clock moves 10 ms at a time until the answer is in (at most 60 s of it). */
  const req = async (method: string, path: string, o: Parameters<typeof request>[3] = {}): Promise<Reply> => {
    let done = false;
    const p = request(socket, method, path, o).finally(() => {
      done = true;
    });
    for (let i = 0; !done; i++) {
      if (i > 6000) throw new Error(`${method} ${path}: no answer within 60 s of simulated time`);
      await rig.clock.advance(10);
    }
    return p;
  };
  return {
    ...rig,
    api,
    socket,
    req,
    setDialect: (d: Dialect) => {
      dialect = d;
    },
  };
}

// The emulator server as a process (scripts/i2c-emulated.sh starts it; docs/i2c-emulator.md):
//   node dist/engine/simulator/i2c-emulator/main.js --socket BUS.sock --control CONTROL.sock
//        [--transcript FILE.jsonl] [--state-file FILE] [--bus 1] [--address 0x6D] [--parent PID [--remove-dir DIR]]
// BUS.sock takes the transfers of native/i2c-emulator; CONTROL.sock serves halpid's /sim API
// for the simulated controller, plus GET/DELETE /transcript.

import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { sendEmpty, sendJson, type Ctx } from '../../api/http.js';
import type { Out } from '../../api/json-write.js';
import type { Route } from '../../api/router.js';
import { simRoutes } from '../../api/sim.js';
import { RealClock } from '../../clock.js';
import { SimulatedController } from '../controller.js';
import { I2cEmulatorServer } from './server.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    control: { type: 'string' },
    transcript: { type: 'string' },
    'state-file': { type: 'string' },
    bus: { type: 'string', default: '1' },
    address: { type: 'string', default: '0x6D' },
    parent: { type: 'string' },
    'remove-dir': { type: 'string' },
  },
});
if (!values.socket || !values.control) {
  process.stderr.write(
    'usage: main.js --socket BUS.sock --control CONTROL.sock [--transcript FILE] [--state-file FILE] [--bus N] [--address A]\n',
  );
  process.exit(2);
}
const bus = Number(values.bus);
const address = Number(values.address);
if (!Number.isInteger(bus) || bus < 0 || bus > 255 || !Number.isInteger(address) || address < 0 || address > 0x7f) {
  process.stderr.write('--bus must be 0-255 and --address 0x00-0x7F\n');
  process.exit(2);
}

const sim = new SimulatedController({
  clock: new RealClock(),
  start: 'host-running', // the host is this machine, already running the program under test
  hostGated: true,
  stateFile: values['state-file'] || undefined,
  warn: (m) => process.stderr.write(`i2c-emulator: ${m}\n`),
});
sim.start();

const transcriptFile = values.transcript;
if (transcriptFile) writeFileSync(transcriptFile, '');
const emulator = new I2cEmulatorServer({
  controller: sim,
  bus,
  address,
  onTransfer: transcriptFile ? (e) => appendFileSync(transcriptFile, `${JSON.stringify(e)}\n`) : undefined,
});

const routes: Route[] = [
  ...simRoutes(sim, () => {}),
  {
    path: '/transcript',
    methods: ['GET', 'DELETE'],
    handle: (ctx) => {
      ctx.req.resume();
      if (ctx.req.method === 'DELETE') {
        emulator.transcript.length = 0;
        return sendEmpty(ctx, 204);
      }
      const since = Number(ctx.query.get('since') ?? 0);
      sendJson(ctx, 200, emulator.transcript.filter((e) => e.seq > since) as unknown as Out);
    },
  },
];

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const segs = url.pathname.split('/');
  const ctx: Ctx = { req, res, dialect: 5, params: {}, query: url.searchParams };
  const route = routes.find((r) => {
    const want = r.path.split('/');
    if (want.length !== segs.length) return false;
    const params: Record<string, string> = {};
    const ok = want.every((w, i) =>
      w.startsWith(':') ? ((params[w.slice(1)] = segs[i]!), segs[i] !== '') : w === segs[i],
    );
    if (ok) ctx.params = params;
    return ok;
  });
  if (!route) {
    req.resume();
    return sendEmpty(ctx, 404);
  }
  if (!route.methods.includes(req.method ?? 'GET')) {
    req.resume();
    return sendEmpty(ctx, 405, { Allow: route.methods.join(',') });
  }
  Promise.resolve(route.handle(ctx)).catch((err: unknown) => {
    if (!res.headersSent) sendJson(ctx, 500, { error: (err as Error).message });
  });
}

const control = createServer(handle);
for (const path of [values.socket, values.control]) rmSync(path, { force: true });
await emulator.listen(values.socket);
await new Promise<void>((resolve) => control.listen(values.control, resolve));
process.stdout.write(
  `i2c-emulator: /dev/i2c-${bus} @ 0x${address.toString(16).toUpperCase()} on ${values.socket}, controls on ${values.control}\n`,
);

const stop = async (): Promise<void> => {
  sim.stop();
  await emulator.close();
  control.closeAllConnections();
  control.close();
  for (const path of [values.socket!, values.control!]) rmSync(path, { force: true });
  if (values['remove-dir']) rmSync(values['remove-dir'], { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

// With --parent (scripts/i2c-emulated.sh), stop once the command under emulation has ended.
const parent = Number(values.parent);
if (values.parent !== undefined && Number.isInteger(parent) && parent > 0) {
  const alive = (): boolean => {
    try {
      process.kill(parent, 0);
      return true;
    } catch {
      return false;
    }
  };
  setInterval(() => {
    if (!alive()) void stop();
  }, 200).unref();
}

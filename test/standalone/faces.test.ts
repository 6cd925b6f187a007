// An optional face that cannot start never stops the daemon (docs/configuration.md, "Faces"):
// with the web and NUT ports taken, halpid starts, says why in the log, /metrics and `halpi
// status`, supervises a whole simulated blackout to its poweroff, and takes a port once it is free.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { HALPI, json, startDaemon } from '../helpers/daemon.js';

const occupy = (): Promise<{ server: Server; port: number }> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });

const halpiStatus = (socket: string): Promise<{ code: number | null; stdout: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, [HALPI, 'status', '-s', socket], {
      env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    p.on('close', (code) => resolve({ code, stdout }));
  });

t.test(
  '--web and --nut on taken ports: halpid supervises a blackout to its poweroff and takes a freed port',
  async (t) => {
    const web = await occupy();
    const nut = await occupy();
    t.teardown(() => {
      web.server.close();
      nut.server.close();
    });
    const d = await startDaemon([
      '--web',
      `127.0.0.1:${web.port}`,
      '--nut',
      `127.0.0.1:${nut.port}`,
      '--blackout-time-limit',
      '1',
    ]);
    t.teardown(() => d.stop());
    t.match(
      await d.waitLog(/Cannot start the web listener/),
      `Cannot start the web listener on 127.0.0.1:${web.port}: listen EADDRINUSE`,
    );
    t.match(
      await d.waitLog(/Cannot start the NUT listener/),
      `Cannot start the NUT listener on 127.0.0.1:${nut.port}: listen EADDRINUSE`,
    );

    const metrics = (await d.req('GET', '/metrics')).text;
    t.match(metrics, `halpi_face_up{face="web",address="127.0.0.1:${web.port}"} 0`);
    t.match(metrics, `halpi_face_up{face="nut",address="127.0.0.1:${nut.port}"} 0`);
    t.match(metrics, new RegExp(`halpi_face_error_info\\{face="web",error="listen EADDRINUSE[^"]*"\\} 1`));
    const status = await halpiStatus(d.socket);
    t.equal(status.code, 0);
    t.match(status.stdout, `web listener on 127.0.0.1:${web.port} is down: listen EADDRINUSE`);
    t.match(status.stdout, `NUT listener on 127.0.0.1:${nut.port} is down: listen EADDRINUSE`);

    // The port is freed: the next attempt takes it.
    await new Promise<void>((r) => web.server.close(() => r()));
    await d.waitLog(new RegExp(`Web panel listening on http://127\\.0\\.0\\.1:${web.port}/`));
    t.match((await d.req('GET', '/metrics')).text, `halpi_face_up{face="web",address="127.0.0.1:${web.port}"} 1`);
    t.notMatch((await halpiStatus(d.socket)).stdout, /web listener .* is down/, 'no longer reported down');

    // The supervisor's job, unaffected: a blackout past its limit ends in the poweroff command.
    t.equal((await d.req('POST', '/sim/power', json({ on: false }))).status, 204);
    await d.waitLog(/Simulator: not executing/);
    t.equal(await d.stop(), 0);
    t.notMatch(d.logs(), /Uncaught exception/);
  },
);

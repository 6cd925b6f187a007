// Loopback for the listeners a test starts: a free TCP port (the system picks it, then frees it),
// and an HTTP server on one.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** An HTTP server on a free loopback port for one test, closed (connections too) at its teardown. */
export async function serveOnLoopback(
  t: { teardown: (fn: () => unknown) => void },
  handler: Parameters<typeof createHttpServer>[1],
): Promise<number> {
  const server = createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return (server.address() as { port: number }).port;
}

// Engine: the /values set and the snapshot the faces read — the USB field only when asked for,
// the identity cache against a change made while it is being read, the measurements forgotten
// when the simulator changes the world, state events only for a change, one loop per engine.
import t from 'tap';
import { engineRig } from '../helpers/engine.js';

/** Run simulated time until the promise settles (retries and stretched reads wait on the fake clock). */
async function settle<T>(clock: ReturnType<typeof engineRig>['clock'], p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await clock.advanceUntil(() => settled, 10_000, 10);
  return p;
}

t.test('an identity changed while it is being read is read again by the next request', async (t) => {
  const { clock, sim, engine, stop } = engineRig();
  // The device id (read last) is stretched; meanwhile the simulator's controls change the firmware.
  sim.addFault({ kind: 'stretch', op: 'read', registers: [0x25], delay_ms: 50, count: 1 });
  const first = engine.readValues();
  await clock.advance(20);
  sim.setIdentity({ firmware_version: [3, 4, 0, 0] });
  engine.invalidateMeasurements();
  t.equal((await settle(clock, first)).firmware_version, '3.3.1', 'the request under way saw the old one');
  await clock.advance(100);
  t.match((await settle(clock, engine.readValues())).firmware_version, /^3\.4\.0/, 'the next one reads it again');
  await stop();
});

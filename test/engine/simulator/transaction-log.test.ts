// The simulated controller's transaction log: the last entries, oldest first, as they were logged.
import t from 'tap';
import { TransactionLog } from '../../../engine/simulator/transaction-log.js';

t.test('keeps the last entries, oldest first, with their register, bytes and result', async (t) => {
  const log = new TransactionLog(3);
  t.same(log.list(), [], 'empty');
  log.add(1, 'read', 0x20, Uint8Array.of(0x4e, 0x20), 'ok');
  log.add(2, 'transition', undefined, undefined, 'OperationalSolo -> OperationalCoOp');
  t.same(log.list(), [
    { t: 1, kind: 'read', register: 0x20, bytes: '4e20', result: 'ok' },
    { t: 2, kind: 'transition', result: 'OperationalSolo -> OperationalCoOp' },
  ]);
  t.notOk('register' in log.list()[1]! || 'bytes' in log.list()[1]!, 'an event has no register or bytes');
  log.add(3, 'plain-read', undefined, new Uint8Array(0), 'zeros');
  log.add(4, 'write', 0x10, Uint8Array.of(0), 'ok');
  log.add(5, 'fault', 0, Uint8Array.of(0xff), 'injected nack');
  t.same(
    log.list().map((e) => [e.t, e.kind, e.register, e.bytes]),
    [
      [3, 'plain-read', undefined, ''],
      [4, 'write', 0x10, '00'],
      [5, 'fault', 0, 'ff'],
    ],
    'full: the oldest go first; register 0 and no bytes are kept apart from none',
  );
});

t.test('bytes are copied when logged: reusing the array changes nothing', async (t) => {
  const log = new TransactionLog(4);
  const data = Uint8Array.of(1, 2, 3);
  log.add(0, 'write', 0x12, data, 'ok');
  data.fill(9);
  const block = new Uint8Array(300).fill(0xab);
  log.add(1, 'write', 0x43, block, 'ok');
  block.fill(0);
  t.equal(log.list()[0]!.bytes, '010203');
  t.equal(log.list()[1]!.bytes, 'ab'.repeat(300), 'a long transfer (a firmware block) too');
  log.add(2, 'read', 0x20, Uint8Array.of(1), 'ok');
  log.add(3, 'read', 0x20, Uint8Array.of(2), 'ok');
  log.add(4, 'read', 0x20, Uint8Array.of(3), 'ok');
  t.same(
    log.list().map((e) => e.bytes),
    ['ab'.repeat(300), '01', '02', '03'],
    'a short entry in the slot of an old one',
  );
  log.add(5, 'read', 0x21, Uint8Array.of(4, 5), 'ok');
  t.same(
    log.list().map((e) => e.bytes),
    ['01', '02', '03', '0405'],
    'and the long one overwritten',
  );
});

// halpi's reason phrases are node:http's, so a failed request reads as it did when halpi used it.
import t from 'tap';
import { STATUS_CODES } from 'node:http';
import { REASONS } from '../../lib/http-reasons.js';

t.test('the table is node:http STATUS_CODES', async (t) => {
  t.same({ ...REASONS }, STATUS_CODES);
});

// A module hook for child processes: appends every ES module URL Node loads to $HALPI2_LOAD_LOG.
// Used with `node --import <this file> …` to see what a command loaded, not how long it took.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
  import { appendFileSync } from 'node:fs';
  export async function load(url, context, next) {
    if (process.env.HALPI2_LOAD_LOG && url.startsWith('file:')) appendFileSync(process.env.HALPI2_LOAD_LOG, url + '\\n');
    return next(url, context);
  }
`),
);

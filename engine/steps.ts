// A sequence of bus reads written once for both kinds of bus. The sequence is a generator that
// yields each read as Device.readNow gives it (the bytes, or a promise when the bus cannot answer
// at once) and gets the bytes back. From a bus that answers every read at once (the simulator) it
// runs to its end without a single promise; from the first read that is a promise on (the real
// adapter's thread pool, a fault, a retry) it goes on as an async function would, a rejection
// thrown into the generator where it waits. A `GET /values` made an async frame and a chain of
// promises for each of its reads, which the young generation promoted (docs/performance.md).

export type Read = Uint8Array | Promise<Uint8Array>;
export type Steps<T> = Generator<Read, T, Uint8Array>;

/** The sequence's result, without a promise while every read was answered at once; throws what it throws. */
export function runSteps<T>(steps: Steps<T>): T | Promise<T> {
  let r = steps.next();
  while (!r.done) {
    const read = r.value;
    if (read instanceof Promise) return finish(steps, read);
    r = steps.next(read);
  }
  return r.value;
}

/** The same as a promise: a throw is a rejection. */
export function stepsPromise<T>(steps: Steps<T>): Promise<T> {
  try {
    const out = runSteps(steps);
    return out instanceof Promise ? out : Promise.resolve(out);
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

async function finish<T>(steps: Steps<T>, pending: Promise<Uint8Array>): Promise<T> {
  for (;;) {
    let bytes: Uint8Array | undefined;
    let failed = false;
    let error: unknown;
    try {
      bytes = await pending;
    } catch (err) {
      failed = true;
      error = err;
    }
    // Outside the try: a throw of the generator itself rejects this promise, it is not thrown back in.
    let r = failed ? steps.throw(error) : steps.next(bytes!);
    while (!r.done && !(r.value instanceof Promise)) r = steps.next(r.value);
    if (r.done) return r.value;
    pending = r.value as Promise<Uint8Array>; // (the loop above stops at a promise or the end)
  }
}

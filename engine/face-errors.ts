// Failures contained inside a face (the NUT server, the listeners): a reset connection, a client
// dropped for not reading, an accept that failed. They never reach the process; they are counted
// here for /metrics (halpi_face_errors_total) so that an operator sees them without a log flood.
// One process-wide registry, as a Prometheus client's default one: a face counts without the
// daemon having to hand it a counter.

export class FaceErrors {
  private readonly counts = new Map<string, number>();

  count(face: string, kind: string): void {
    const key = `${face}\u0000${kind}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** One face's count, all kinds together (tests, status lines). */
  total(face: string): number {
    let n = 0;
    for (const [k, v] of this.counts) if (k.startsWith(`${face}\u0000`)) n += v;
    return n;
  }

  entries(): Array<{ face: string; kind: string; n: number }> {
    return [...this.counts].map(([k, n]) => {
      const [face, kind] = k.split('\u0000') as [string, string];
      return { face, kind, n };
    });
  }
}

export const faceErrors = new FaceErrors();
